// SPEC §4 "restart resumes", with tail: a pipeline killed with SIGKILL at random
// moments (any of its processes) and started again each time ends with the output
// of a run that was never interrupted. By event time the saved files are byte for
// byte those of an uninterrupted run; by processing time (batches fall where the
// clock puts them) the per-batch counts add up to the input's and the final
// running counts equal it: nothing lost, nothing counted twice.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { crashRuns, random, runPipeline, savedFiles, seedFromEnv } from '../crash.js'
import { freshDir } from '../helpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 12)
const WORDS = ['spark', 'kafka', 'flink', 'storm', 'beam', 'samza', 'heron', 'pulsar']

/** Appends `lines` to `file` a few at a time while the runs go on. */
function writer (file: string, lines: string[], everyMs: number, perTick: number): { done: Promise<void>, stop(): void } {
  let i = 0
  let timer: NodeJS.Timeout
  let finish!: () => void
  const done = new Promise<void>(resolve => { finish = resolve })
  const tick = () => {
    fs.appendFileSync(file, lines.slice(i, i + perTick).map(l => l + '\n').join(''))
    i += perTick
    if (i >= lines.length) finish()
    else timer = setTimeout(tick, everyMs)
  }
  tick()
  return { done, stop () { clearTimeout(timer); fs.appendFileSync(file, lines.slice(i).map(l => l + '\n').join('')); finish() } }
}

function sentence (next: () => number): string[] {
  return Array.from({ length: 1 + Math.floor(next() * 5) }, () => WORDS[Math.floor(next() * WORDS.length)])
}

t.test('by event time: the saved files are byte-identical to an uninterrupted run', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0x5eed)
  const start = 1_700_000_000_000
  // timestamps that move forward with disorder; every 50th is later than the watermark allows
  const lines = Array.from({ length: 4000 }, (_, i) => {
    const ts = start + i * 25 + Math.round((next() - 0.5) * 1500) - (i % 50 === 49 ? 4000 : 0)
    return JSON.stringify({ ts, words: sentence(next) })
  })
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--json', '--event-time', '_.ts', '--watermark', '1s', '--interval', '1s', ...(once ? ['--once'] : [])],
    ['flat-map', '_.words'],
    ['map', '[_, 1]'],
    ['update-state-by-key', '(vs, s) => (s ?? 0) + vs.length'],
    ['reduce-by-key-and-window', 'max', '--length', '3s'],
    ['save', 'out/c']
  ]

  const crashed = freshDir()
  const input = writer(path.join(crashed, 'input.log'), lines, 40, 20)
  const kills = await crashRuns(crashed, seed, KILLS, stages(false), { minMs: 300, maxMs: 2500, log: text => t.comment(text) })
  input.stop()
  const last = await runPipeline(crashed, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)

  const whole = freshDir()
  fs.writeFileSync(path.join(whole, 'input.log'), lines.map(l => l + '\n').join(''))
  const reference = await runPipeline(whole, stages(true))
  t.same(reference.statuses, stages(true).map(() => 0), reference.stderr)

  const expected = savedFiles(path.join(whole, 'out'))
  const got = savedFiles(path.join(crashed, 'out'))
  t.ok(expected.size > 50, `the uninterrupted run saved ${expected.size} files`)
  t.same([...got.keys()], [...expected.keys()], `seed ${seed}: the same files`)
  const differing = [...expected].filter(([name, text]) => got.get(name) !== text).map(([name]) => name)
  t.same(differing, [], `seed ${seed}: every file byte for byte (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  t.same(fs.readdirSync(path.join(crashed, 'out')).filter(f => f.startsWith('.')), [], 'no temporary file is left behind once the last run ends')
  const lateIn = (dir: string) => fs.readFileSync(path.join(dir, 'state', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l).record.ts).sort()
  t.same(lateIn(crashed), lateIn(whole), 'the late records are set aside once each')
})

t.test('by processing time: the counts add up, nothing lost, nothing twice', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0xc0de)
  const lines = Array.from({ length: 6000 }, () => sentence(next).join(' '))
  const totals = new Map<string, number>()
  for (const word of lines.join(' ').split(' ')) totals.set(word, (totals.get(word) ?? 0) + 1)
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--interval', '200ms', ...(once ? ['--once'] : [])],
    ['flat-map', '_.split(" ")'],
    ['map', '[_, 1]'],
    ['reduce-by-key', 'sum'],
    ['save', 'out/counts', '--pass'],
    ['update-state-by-key', '(vs, s) => vs.reduce((a, b) => a + b, s ?? 0)'],
    ['reduce-by-key-and-window', 'max', '--length', '1s'],
    ['save', 'out/running']
  ]
  const dir = freshDir()
  const input = writer(path.join(dir, 'input.log'), lines, 40, 25)
  await crashRuns(dir, seed, KILLS, stages(false), { minMs: 300, maxMs: 2500, log: text => t.comment(text) })
  input.stop()
  const last = await runPipeline(dir, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)

  const summed = new Map<string, number>()
  const files = savedFiles(path.join(dir, 'out'))
  for (const [name, text] of files) {
    if (!name.startsWith('counts-')) continue
    for (const line of text.split('\n').filter(Boolean)) {
      const [word, n] = JSON.parse(line)
      summed.set(word, (summed.get(word) ?? 0) + n)
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a < b ? -1 : 1)
  t.same(sorted(summed), sorted(totals), `seed ${seed}: the per-batch counts of all files add up to the input's`)
  const running = [...files.keys()].filter(n => n.startsWith('running-')).sort().at(-1)!
  const final = new Map(files.get(running)!.split('\n').filter(Boolean).map(l => JSON.parse(l) as [string, number]))
  t.same(sorted(final), sorted(totals), `seed ${seed}: the final running counts (${running}) equal the input's`)
})
