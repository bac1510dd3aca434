import t from 'tap'
import { parseOutput, runWords, sh } from '../helpers.js'
import { consecutive, live, sleep } from './live.js'

const LINE = /^(\d{1,3}\.){3}\d{1,3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) "GET \/(class\/\d+\.html|learn\/\d+|course\/list|index\.html) HTTP\/1\.1" (200|404|500) (-|http:\/\/(www\.sogou\.com\/web\?query=|cn\.bing\.com\/search\?q=|www\.baidu\.com\/s\?wd=|search\.yahoo\.com\/search\?p=)[a-z+]+)$/

async function lines (args: string[]): Promise<string[]> {
  const ran = await runWords(['generate', ...args], '')
  if (ran.code !== 0) throw new Error(ran.stderr)
  return parseOutput(ran.stdout).batches.flatMap(b => b.records) as string[]
}

const withoutTime = (line: string) => line.replace(/ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, ' ')

t.test('cases', async t => {
  const made = await lines(['--count', '2000', '--rate', '0'])
  t.equal(made.length, 2000, '--count N --rate 0: exactly N lines')
  const wrong = made.filter(l => !LINE.test(l))
  t.same(wrong, [], 'every line is an access-log line')
  const stamp = made[0].match(LINE)![2]
  const now = new Date()
  const local = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
  t.equal(stamp.slice(0, 10), local, 'dated today, local time')
  t.ok(made.some(l => l.includes('"GET /class/')) && made.some(l => l.includes('"GET /learn/')), 'class and learn requests')
  t.ok(made.some(l => l.endsWith(' -')) && made.some(l => l.includes('sogou')), 'with and without a referer')
  t.ok(new Set(made.map(l => l.split(' ')[0])).size > 100, 'many IP addresses')

  const one = await lines(['--count', '300', '--rate', '0', '--seed', 'abc'])
  const two = await lines(['--count', '300', '--rate', '0', '--seed', 'abc'])
  const other = await lines(['--count', '300', '--rate', '0', '--seed', 'abd'])
  t.same(one.map(withoutTime), two.map(withoutTime), '--seed: the same lines (but for date and time)')
  t.not(other.map(withoutTime).join('\n'), one.map(withoutTime).join('\n'), 'another seed, other lines')
  const unseeded = await lines(['--count', '300', '--rate', '0'])
  t.not(unseeded.map(withoutTime).join('\n'), one.map(withoutTime).join('\n'), 'no seed: different every run')
})

t.test('timing', async t => {
  const started = Date.now()
  const ran = await sh('dstream generate --count 12 --rate 20 --interval 200ms')
  const took = Date.now() - started
  t.equal(ran.code, 0, ran.stderr)
  const { batches } = parseOutput(ran.stdout)
  t.equal(batches.flatMap(b => b.records).length, 12, '--count ends the stream, exit 0')
  t.ok(took >= 500, `--rate 20: 12 lines take over half a second (${took}ms)`)
  t.ok(batches.length >= 3 && consecutive(batches, 200), 'spread over aligned, consecutive batches')

  const chunked = parseOutput((await sh('dstream generate --count 25 --rate 0 --chunk 10 --interval 1d')).stdout)
  t.same(chunked.chunks.map(c => [c.records.length, c.more === true]), [[10, true], [10, true], [5, false]], '--chunk 10: chunks of at most 10')

  const fast = await sh('dstream generate --rate 0 --interval 200ms | head -c 2000000 | wc -c')
  t.equal(fast.stdout.trim(), '2000000', '--rate 0 is fast, and ends quietly when the pipe closes')
  t.equal(fast.code, 0, fast.stderr)
})

t.test('stopping', async t => {
  const ran = live(['generate', '--interval', '200ms'])
  await sleep(1000)
  const exited = await ran.stop('SIGINT')
  t.equal(exited.code, 0, `runs until stopped; SIGINT: exit 0 ${exited.stderr}`)
  t.ok(exited.records.length >= 3 && exited.records.length <= 15, `about 10 lines a second by default (${exited.records.length})`)
  t.notOk(exited.chunks.at(-1)!.more, 'the last batch is closed')
  const empty = await lines(['--count', '0'])
  t.same(empty, [], '--count 0: no lines')
})

t.test('usage errors', async t => {
  for (const args of [['--rate', '-1'], ['--count', '1.5'], ['--count', 'x'], ['--chunk', '0'], ['--interval', '0'], ['extra']]) {
    const ran = await runWords(['generate', ...args], '')
    t.equal(ran.code, 2, `generate ${args.join(' ')}: exit 2`)
    t.match(ran.stderr, /^dstream generate: .*\nUsage: dstream generate \[options\]/, `generate ${args.join(' ')}: the reason and the usage`)
    t.equal(ran.stdout, '', 'no output')
  }
})
