// SPEC §4 "restart resumes", with `batch --wal`: lines from stdin are written ahead
// to the state directory before they are batched, so a pipeline killed at random
// moments and started again loses nothing and counts nothing twice. The feeder
// plays a client that sends again what the receiver had not written ahead: each run
// it goes on after the last line found in the WAL.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { COUNTING, WINDOWED_STATE, compareSaved, crashRuns, keep, random, runPipeline, savedCounts, seedFromEnv, sentence, sortedEntries, timedRecords, wordCounts } from '../crash.js'
import { freshDir } from '../helpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 8)

/**
 * The number of the last line written ahead: in a read the source log holds (lines
 * start with their number, or are JSON with an id). Bytes in a WAL segment that no
 * logged read covers were cut off by a kill before the read was logged.
 */
function lastInWal (dir: string, id: (line: string) => number): number {
  let last = -1
  const state = path.join(dir, 'state')
  for (const member of fs.existsSync(state) ? fs.readdirSync(state) : []) {
    if (!member.startsWith('batch-')) continue
    const log = path.join(state, member, 'log.ndjson')
    if (!fs.existsSync(log)) continue
    for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
      let entry: any
      try { entry = JSON.parse(line) } catch { continue }
      if (!('read' in entry) || !fs.existsSync(entry.file)) continue
      const bytes = fs.readFileSync(entry.file).subarray(entry.from, entry.until).toString()
      for (const text of bytes.split('\n').filter(Boolean)) last = Math.max(last, id(text))
    }
  }
  return last
}

/**
 * A client that sends again what the receiver had not written ahead: it goes on
 * after the last line found in the WAL. It keeps that number between runs, because
 * a WAL segment whose batches are all committed is deleted.
 */
class Client {
  private sent = -1
  constructor (private readonly dir: string, private readonly lines: string[], private readonly id: (line: string) => number) {}

  /** after a run, once its processes are gone: what it had written ahead */
  written (): void { this.sent = Math.max(this.sent, lastInWal(this.dir, this.id)) }

  /** a few lines every 40 ms while the run goes on; or, `all`, the rest and the end */
  feed (all = false) {
    return (input: NodeJS.WritableStream, running: () => boolean) => {
      let i = this.sent + 1
      if (all) {
        input.end(this.lines.slice(i).map(l => l + '\n').join(''))
        return
      }
      const tick = () => {
        if (!running() || i >= this.lines.length) return
        input.write(this.lines.slice(i, i + 20).map(l => l + '\n').join(''))
        i += 20
        setTimeout(tick, 40)
      }
      tick()
    }
  }
}

t.test('by processing time: the counts add up, nothing lost, nothing twice', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0xa11)
  const words = Array.from({ length: 5000 }, () => sentence(next).join(' '))
  const lines = words.map((w, i) => `${i} ${w}`)
  const id = (line: string) => Number(line.split(' ')[0])
  const stages = [['batch', '200ms', '--wal'], ['flat-map', '_.split(" ").slice(1)'], ['map', '[_, 1]'], ...COUNTING]
  const dir = freshDir()
  const client = new Client(dir, lines, id)
  await crashRuns(dir, seed, KILLS, stages, { minMs: 300, maxMs: 2500, stdin: client.feed(), afterRun: () => client.written(), log: text => t.comment(text) })
  const last = await runPipeline(dir, stages, { stdin: client.feed(true) })
  t.same(last.statuses, stages.map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  const totals = wordCounts(words)
  t.same(sortedEntries(savedCounts(path.join(dir, 'out'), 'counts').summed), sortedEntries(totals), `seed ${seed}: the per-batch counts add up to the input's`)
  t.same(sortedEntries(savedCounts(path.join(dir, 'out'), 'running').last), sortedEntries(totals), `seed ${seed}: the final running counts equal the input's`)
})

t.test('by event time: the saved files are byte-identical to an uninterrupted run', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0xe7e)
  const lines = timedRecords(next, 3000)
  const id = (line: string) => JSON.parse(line).id
  const stages = [
    ['batch', '1s', '--wal', '--json', '--event-time', '_.ts', '--watermark', '1s'],
    ['flat-map', '_.words'],
    ['map', '[_, 1]'],
    ...WINDOWED_STATE
  ]
  const crashed = freshDir()
  const client = new Client(crashed, lines, id)
  await crashRuns(crashed, seed, KILLS, stages, { minMs: 300, maxMs: 2500, stdin: client.feed(), afterRun: () => client.written(), log: text => t.comment(text) })
  const last = await runPipeline(crashed, stages, { stdin: client.feed(true) })
  t.same(last.statuses, stages.map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  const whole = freshDir()
  const reference = await runPipeline(whole, stages, { stdin: input => input.end(lines.map(l => l + '\n').join('')) })
  t.same(reference.statuses, stages.map(() => 0), reference.stderr)
  const saved = compareSaved(path.join(whole, 'out'), path.join(crashed, 'out'))
  if (saved.differing.length > 0 || saved.got.length !== saved.expected.length) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`)
  t.ok(saved.expected.length > 50, `the uninterrupted run saved ${saved.expected.length} files`)
  t.same(saved.got, saved.expected, `seed ${seed}: the same files`)
  t.same(saved.differing, [], `seed ${seed}: every file byte for byte`)
})
