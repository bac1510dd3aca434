// ../shared/EXAMPLES.md (10), the cron job: the access-log analytics run again and
// again with `tail --once` over a log that grows between runs. Each run reads only
// what was appended since the last; the totals equal one pass over the whole log.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { random } from '../crash.js'
import { freshDir, sh } from '../helpers.js'

const RUNS = 30

/** Lines like EXAMPLES (9): ip, time, request, status, referer. */
function accessLog (seed: number, count: number): string[] {
  const next = random(seed)
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]
  const referers = ['-', 'https://www.baidu.com/s?wd=spark', 'http://www.sogou.com/web?query=hadoop', 'https://search.yahoo.com/search?p=kafka']
  return Array.from({ length: count }, (_, i) => {
    const ip = [10, 82, 132, 187].map(n => (n + Math.floor(next() * 100)) % 255).join('.')
    const minute = String(i % 60).padStart(2, '0')
    const page = next() < 0.8 ? `/class/${pick([112, 128, 145, 146, 131])}.html` : pick(['/learn/821', '/course/list', '/index.html'])
    return `${ip} 2020-05-23 19:${minute}:00 "GET ${page} HTTP/1.1" ${pick([200, 200, 200, 404, 500])} ${pick(referers)}`
  })
}

// per batch: clicks per course, appended by a foreach sink; and the running totals, saved
const PIPELINE = [
  'dstream tail access.log --once --from start --interval 100ms',
  `dstream filter '_.includes("/class/")'`,
  `dstream map 'l => [l.match(/class\\/(\\d+)/)[1], 1]'`,
  'dstream reduce-by-key sum',
  `dstream foreach --pass -- sh -c 'cat >> clicks.ndjson'`,
  `dstream update-state-by-key '(vs, s) => vs.reduce((a, b) => a + b, s ?? 0)'`,
  'dstream save out/totals'
].join(' | ')

function sum (ndjson: string): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const line of ndjson.split('\n').filter(Boolean)) {
    const [course, n] = JSON.parse(line)
    totals[course] = (totals[course] ?? 0) + n
  }
  return totals
}

function lastTotals (dir: string): Record<string, number> {
  const files = fs.readdirSync(path.join(dir, 'out')).filter(f => !f.startsWith('.')).sort()
  return sum(fs.readFileSync(path.join(dir, 'out', files.at(-1)!), 'utf8'))
}

t.test(`${RUNS} cron runs over a growing log equal one pass over the whole log`, async t => {
  const lines = accessLog(10, 3000)
  const text = lines.map(l => l + '\n').join('')
  const cron = freshDir()
  const env = { DSTREAM_STATE_DIR: path.join(cron, 'state') }
  // cut points anywhere, in the middle of lines too: a line without its newline waits for the next run
  const next = random(4242)
  const cuts = Array.from({ length: RUNS - 1 }, () => Math.floor(next() * text.length)).sort((a, b) => a - b)
  let written = 0
  for (const [run, cut] of [...cuts, text.length].entries()) {
    fs.appendFileSync(path.join(cron, 'access.log'), text.slice(written, cut))
    written = cut
    const ran = await sh(PIPELINE, { cwd: cron, env })
    if (ran.code !== 0) t.fail(`run ${run + 1} failed: ${ran.stderr}`)
  }
  t.equal(fs.readFileSync(path.join(cron, 'access.log'), 'utf8'), text, 'the log was written whole')

  const once = freshDir()
  fs.writeFileSync(path.join(once, 'access.log'), text)
  const whole = await sh(PIPELINE, { cwd: once, env: { DSTREAM_STATE_DIR: path.join(once, 'state') } })
  t.equal(whole.code, 0, whole.stderr)

  const expected: Record<string, number> = {}
  for (const line of lines) {
    const course = /\/class\/(\d+)/.exec(line)?.[1]
    if (course) expected[course] = (expected[course] ?? 0) + 1
  }
  t.same(sum(fs.readFileSync(path.join(once, 'clicks.ndjson'), 'utf8')), expected, 'one pass counts every click')
  t.same(sum(fs.readFileSync(path.join(cron, 'clicks.ndjson'), 'utf8')), expected, `${RUNS} runs: the per-batch clicks add up to the same, each read once`)
  t.same(lastTotals(cron), lastTotals(once), 'and the running totals end the same')
  t.same(lastTotals(cron), expected)
})
