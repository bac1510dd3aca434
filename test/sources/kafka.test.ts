// The kafka source against a real broker (scripts/kafka/broker.sh): Spark's direct
// approach. Batches by processing time whose last line carries the offset ranges,
// contiguous per partition; --max-rate-per-partition; --from for a new group and
// the group's committed offsets otherwise (committed only once the sinks have the
// batch); a restart that resumes; --with-meta and --json; bad input, missing
// topics, unreachable brokers and bad usage. Every test has its own topics, groups
// and state directory: files run in parallel against the one broker.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { freshDir, parseOutput, sh, userEnv } from '../helpers.js'
import { createTopic, deleteTopics, groupLag, groupOffsets, pollFor, produce, readTopic, topicEnds, uniqueName, type Outgoing, type PartitionEnds } from '../kafkaHelpers.js'
import { kafka } from '../services.js'

// joining groups, several runs of a pipeline, and the half minute an unreachable
// broker is tried for: more than the default on a slow, loaded machine
t.setTimeout(600_000)

interface Range { topic: string, partition: number, from: number, until: number }
interface Line { time: number, interval: number, records: unknown[], more?: boolean, offsets?: Range[] }
interface Batch { time: number, interval: number, records: unknown[], chunks: Line[], offsets: Range[] | undefined }

/** The lines of a source's stdout (checked against the wire format), and its batches with the offsets of their last lines. */
function linesOf (stdout: string): { lines: Line[], batches: Batch[] } {
  parseOutput(stdout) // throws on a line that is not a batch, or batches out of order
  const lines: Line[] = stdout.split('\n').filter(Boolean).map(l => JSON.parse(l))
  const batches: Batch[] = []
  let open: Line[] = []
  for (const line of lines) {
    open.push(line)
    if (line.more) continue
    batches.push({ time: line.time, interval: line.interval, records: open.flatMap(c => c.records), chunks: open, offsets: line.offsets })
    open = []
  }
  if (open.length > 0) throw new Error(`output ends inside batch ${open[0].time}`)
  return { lines, batches }
}

const allRecords = (batches: Batch[]) => batches.flatMap(b => b.records)
const sorted = <T>(xs: T[]) => [...xs].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0)
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * The offset ranges of `topic` in the batches, per partition in batch order, are
 * contiguous, start at `start` and end at `end` (both by partition); and each batch
 * holds as many records as its ranges span (`counted`: a topic with neither
 * transactions nor bad records, whose offsets are all records).
 */
function checkRanges (t: Test, batches: Batch[], topic: string, start: Map<number, number>, end: Map<number, number>, { counted = true } = {}): void {
  const byPartition = new Map<number, Range[]>()
  for (const b of batches) {
    t.ok(Array.isArray(b.offsets), `batch ${b.time}: its last line carries "offsets"`)
    for (const r of b.offsets ?? []) {
      t.equal(r.topic, topic, `batch ${b.time}: a range of ${topic}`)
      t.ok(Number.isInteger(r.from) && Number.isInteger(r.until) && r.from <= r.until, `batch ${b.time}: partition ${r.partition}: from ${r.from} <= until ${r.until}`)
      if (!byPartition.has(r.partition)) byPartition.set(r.partition, [])
      byPartition.get(r.partition)!.push(r)
    }
    if (counted) {
      const span = (b.offsets ?? []).reduce((n, r) => n + r.until - r.from, 0)
      t.equal(b.records.length, span, `batch ${b.time}: ${b.records.length} records, as many as its ranges span`)
    }
  }
  t.same([...byPartition.keys()].sort(), [...end.keys()].sort(), 'ranges for every partition of the topic')
  for (const [partition, ranges] of byPartition) {
    const where = ranges.map(r => `${r.from}..${r.until}`).join(' ')
    t.equal(ranges[0].from, start.get(partition), `partition ${partition}: the first range starts at ${start.get(partition)} (${where})`)
    t.ok(ranges.every((r, i) => i === 0 || r.from === ranges[i - 1].until), `partition ${partition}: consecutive ranges are contiguous (${where})`)
    t.equal(ranges.at(-1)!.until, end.get(partition), `partition ${partition}: the last range ends at the end offset ${end.get(partition)} (${where})`)
  }
}

const endsMap = (ends: PartitionEnds[]) => new Map(ends.map(e => [e.partition, e.high]))
const zeros = (ends: PartitionEnds[]) => new Map(ends.map(e => [e.partition, 0]))

/** Batch times: aligned, one interval apart (every interval has its batch, empty or not). */
function checkClock (t: Test, batches: Batch[], interval: number): void {
  t.ok(batches.every((b, i) => b.interval === interval && b.time % interval === 0 && (i === 0 || b.time - batches[i - 1].time === interval)),
    `batch times aligned and ${interval}ms apart: ${batches.map(b => b.time).join(' ')}`)
}

/** Waits until the group's committed offsets of the topic are its end offsets (transactional offset commits show up a moment later). */
async function lagZero (t: Test, brokers: string, group: string, topic: string, what = 'the group has committed the end offsets: lag 0'): Promise<void> {
  const lag = await pollFor(() => groupLag(brokers, group, topic), l => l.total === 0, { ms: 20_000 })
  t.equal(lag.total, 0, `${what} (per partition: ${JSON.stringify([...lag.partitions])})`)
}

interface Running {
  stdout(): string
  stderr(): string
  /** resolves once `cond` holds (checked on every output), rejects after `ms` or when the process exits first */
  until(cond: () => boolean, what: string, ms?: number): Promise<void>
  /** resolves with how it exited (by itself, or killed after its limit) */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>
  /** sends the signal; resolves with how it exited */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>
}

/**
 * A shell script (a dstream command or a pipeline) that runs until stopped: in a
 * process group of its own, so that stop() signals every command of it, as Ctrl-C
 * in a terminal does. Killed after `limit` ms, and at the end of the test.
 */
function running (t: Test, script: string, env: NodeJS.ProcessEnv, limit = 180_000): Running {
  const child = spawn('bash', ['-o', 'pipefail', '-c', `unset NODE_OPTIONS; ${script}`], { env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const signal = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig) } catch { /* gone */ } }
  let stdout = ''
  let stderr = ''
  let done = false
  const waiters = new Set<() => void>()
  const poke = () => { for (const w of [...waiters]) w() }
  child.stdout!.on('data', d => { stdout += d; poke() })
  child.stderr!.on('data', d => { stderr += d; poke() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>(resolve => child.on('close', (code, signal) => {
    done = true
    clearTimeout(killer)
    poke()
    resolve({ code, signal, stdout, stderr })
  }))
  const killer = setTimeout(() => signal('SIGKILL'), limit)
  t.teardown(() => { if (!done) signal('SIGKILL') })
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    until (cond, what, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { clearInterval(tick); waiters.delete(check); reject(new Error(`no ${what} after ${ms}ms; stderr: ${stderr}; stdout: ${stdout.slice(-2000)}`)) }, ms)
        // what the condition looks at may change without output (files, the broker): look every so often too
        const tick = setInterval(() => check(), 250)
        const check = () => {
          let holds = false
          try { holds = cond() } catch { /* a line half written */ }
          if (holds || done) {
            clearTimeout(timer)
            clearInterval(tick)
            waiters.delete(check)
            if (holds) resolve()
            else reject(new Error(`exited without ${what}; stderr: ${stderr}`))
          }
        }
        waiters.add(check)
        check()
      })
    },
    stop (sig = 'SIGINT') {
      if (!done) signal(sig)
      return exited
    }
  }
}

/** The complete lines of a running source's stdout, as batches (a line being written is left out). */
function soFar (stdout: string): Batch[] {
  return linesOf(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).batches
}

t.test('the word count from a 4-partition topic into another topic, exactly once; the group ends with lag 0', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const input = await createTopic(brokers, uniqueName('wc-in'), 4)
  const output = await createTopic(brokers, uniqueName('wc-out'), 2)
  const group = uniqueName('wc')
  t.teardown(() => deleteTopics(brokers, [input, output]))

  const vocabulary = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape']
  const lines = Array.from({ length: 60 }, (_, i) => Array.from({ length: 1 + i % 5 }, (_, j) => vocabulary[(i * 3 + j * j + j) % vocabulary.length]).join(' '))
  const expected: Record<string, number> = {}
  for (const line of lines) for (const w of line.split(' ')) expected[w] = (expected[w] ?? 0) + 1
  // keys spread the lines over the partitions (the default partitioner); half plainly,
  // half in a committed transaction, and one aborted transaction no one may count
  const messages: Outgoing[] = lines.map((value, i) => ({ key: `line-${i}`, value }))
  await produce(brokers, input, messages.slice(0, 30))
  await produce(brokers, input, messages.slice(30), { transactional: true })
  await produce(brokers, input, [{ key: 'poison', value: 'apple apple never counted' }], { transactional: true, abort: true })
  const ends = await topicEnds(brokers, input)
  t.ok(ends.every(e => e.high > 0), `every partition has lines (ends ${ends.map(e => e.high).join(', ')})`)

  const state = freshDir()
  const ran = await sh(`dstream kafka --topic ${input} --group ${group} --from earliest --once \
    | dstream flat-map '_.split(" ")' \
    | dstream map 'w => [w, 1]' \
    | dstream reduce-by-key sum \
    | dstream update-state-by-key '(vs, s) => vs.reduce((a, b) => a + b, s ?? 0)' \
    | dstream to-kafka --topic ${output} --key '([w]) => w' --value '([, n]) => String(n)'`, {
    env: { DSTREAM_STATE_DIR: state, DSTREAM_KAFKA_BROKERS: brokers },
    timeout: 180_000
  })
  t.equal(ran.code, 0, `the pipeline ends by itself, exit 0\n${ran.stderr}`)
  t.equal(ran.stdout, '', 'to-kafka writes nothing on stdout')

  const counts: Record<string, number> = {}
  const written = await readTopic(brokers, output)
  for (const m of written) counts[m.key!] = Number(m.value) // by partition and offset: a word's last count last
  t.same(counts, expected, 'read_committed, the last count of every word is its true count (nothing of the aborted transaction)')
  t.ok(written.every(m => m.key !== 'never' && m.key !== 'counted'), 'no word of the aborted transaction')

  const inputEnds = await topicEnds(brokers, input)
  await lagZero(t, brokers, group, input)
  const committed = await groupOffsets(brokers, group, input)
  t.same(Object.fromEntries(committed), Object.fromEntries(inputEnds.map(e => [e.partition, e.high])), 'the committed offsets are the end offsets')
})

t.test('who commits the offsets: to-kafka, in its transactions, when it is the only sink; else the source, after every sink', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const input = await createTopic(brokers, uniqueName('commit-in'), 2)
  const output = await createTopic(brokers, uniqueName('commit-out'), 1)
  t.teardown(() => deleteTopics(brokers, [input, output]))
  await produce(brokers, input, Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })))
  const env = { DSTREAM_KAFKA_BROKERS: brokers }
  for (const { label, sinks, commits } of [
    { label: 'to-kafka alone', sinks: `dstream to-kafka --topic ${output}`, commits: 'to-kafka' },
    { label: 'to-kafka and save', sinks: `dstream to-kafka --topic ${output} --pass | dstream save out/b`, commits: 'the source' }
  ]) {
    const group = uniqueName('commit')
    const dir = freshDir()
    const ran = await sh(`cd ${dir} && dstream kafka --topic ${input} --group ${group} --from earliest --once | tee lines | ${sinks}`, { env: { ...env, DSTREAM_STATE_DIR: `${dir}/state` }, timeout: 120_000 })
    t.equal(ran.code, 0, `${label}: exit 0`, { stderr: ran.stderr })
    const lines = fs.readFileSync(`${dir}/lines`, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l))
    const named = lines.filter(l => l.group !== undefined)
    if (commits === 'to-kafka') t.ok(lines.length > 0 && named.length === lines.length && named.every(l => l.group === group && Array.isArray(l.offsets)), `${label}: every batch line names the group beside its ranges`)
    else t.equal(named.length, 0, `${label}: no batch line names the group`)
    // the messages have no key: the stateful operators after it are told to keep their state per instance
    t.ok(lines.every(l => l.kafka?.keyed === false), `${label}: messages without keys: the lines say "keyed":false`)
    await lagZero(t, brokers, group, input, `${label}: ${commits} committed every offset (lag 0)`)
  }
})

t.test('batch lines: offset ranges, chunks, empty batches', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('lines'), 3)
  t.teardown(() => deleteTopics(brokers, [topic]))
  const values = Array.from({ length: 23 }, (_, i) => `m${i}`)
  // three sends, spread by hand: partition 2 gets the fewest
  await produce(brokers, topic, values.slice(0, 10).map((value, i) => ({ value, partition: i % 3 })))
  await produce(brokers, topic, values.slice(10, 20).map((value, i) => ({ value, partition: i % 2 })))
  await produce(brokers, topic, values.slice(20).map(value => ({ value, partition: 0 })))
  const ends = await topicEnds(brokers, topic)
  const env = () => ({ DSTREAM_STATE_DIR: freshDir(), DSTREAM_KAFKA_BROKERS: brokers })

  t.test('--once --from earliest: every record once; ranges from 0 to the end offsets, contiguous', async t => {
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once`, { env: env(), timeout: 120_000 })
    t.equal(ran.code, 0, ran.stderr)
    const { batches } = linesOf(ran.stdout)
    t.ok(batches.length >= 1, `${batches.length} batch(es)`)
    t.same(sorted(allRecords(batches)), sorted(values), 'every record, once')
    checkRanges(t, batches, topic, zeros(ends), endsMap(ends))
    checkClock(t, batches, 1000)
    const where = new Map((await readTopic(brokers, topic)).map(m => [m.value, [m.partition, m.offset]]))
    for (const b of batches) {
      const at = b.records.map(v => where.get(v as string)!)
      t.ok(at.every((p, i) => i === 0 || at[i - 1][0] < p[0] || (at[i - 1][0] === p[0] && at[i - 1][1] < p[1])), `batch ${b.time}: records in the order of partition and offset`)
    }
  })

  t.test('--chunk 2: chunks of at most 2 with more:true, the offsets only on the last chunk of a batch', async t => {
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once --chunk 2`, { env: env(), timeout: 120_000 })
    t.equal(ran.code, 0, ran.stderr)
    const { lines, batches } = linesOf(ran.stdout)
    t.ok(lines.every(l => l.records.length <= 2), 'no chunk holds more than 2 records')
    for (const b of batches) {
      const last = b.chunks.at(-1)!
      t.ok(b.chunks.slice(0, -1).every(c => c.more === true && c.offsets === undefined), `batch ${b.time}: every chunk but the last has more:true and no offsets`)
      t.ok(last.more === undefined && Array.isArray(last.offsets), `batch ${b.time}: the last chunk has no "more" and carries the offsets`)
      t.equal(b.chunks.length, Math.max(1, Math.ceil(b.records.length / 2)), `batch ${b.time}: ${b.records.length} records in ${b.chunks.length} chunk(s)`)
    }
    t.ok(batches.some(b => b.chunks.length > 1), 'a batch in several chunks')
    t.same(sorted(allRecords(batches)), sorted(values), 'every record, once')
    checkRanges(t, batches, topic, zeros(ends), endsMap(ends))
  })

  t.test('nothing produced: empty batches every interval, ranges with from == until, until SIGINT', async t => {
    const run = running(t, `dstream kafka --topic ${topic} --group ${uniqueName('g')}`, env()) // --from latest: at the end offsets
    // the group gives the partitions a moment after start; then some empty batches with ranges
    await run.until(() => {
      const batches = soFar(run.stdout())
      const first = batches.findIndex(b => (b.offsets ?? []).length > 0)
      return first >= 0 && batches.length - first >= 3
    }, 'three batches with ranges')
    const exited = await run.stop('SIGINT')
    t.equal(exited.code, 0, `SIGINT: a graceful stop, exit 0\n${exited.stderr}`)
    const { batches } = linesOf(exited.stdout)
    t.ok(batches.length >= 3, `${batches.length} batches`)
    t.ok(batches.every(b => Array.isArray(b.records) && b.records.length === 0), 'every batch has records: []')
    t.ok(batches.every(b => Array.isArray(b.offsets)), 'every batch carries its offsets')
    const ranges = batches.flatMap(b => b.offsets ?? [])
    t.ok(ranges.length > 0 && ranges.every(r => r.from === r.until && r.until === endsMap(ends).get(r.partition)), `every range is empty, at the end offset: ${JSON.stringify(ranges.slice(0, 6))}`)
    checkClock(t, batches, 1000)
  })
})

t.test('--max-rate-per-partition: at most N records per partition per second of interval; every record still comes', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('rate'), 2)
  t.teardown(() => deleteTopics(brokers, [topic]))
  const values = Array.from({ length: 24 }, (_, i) => `r${i}`)
  await produce(brokers, topic, values.map((value, i) => ({ value, partition: i % 2 })))
  const ends = await topicEnds(brokers, topic)

  for (const [interval, rate, most] of [['1s', 3, 3], ['500ms', 8, 4]] as const) {
    const state = freshDir()
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once --interval ${interval} --max-rate-per-partition ${rate}`, {
      env: { DSTREAM_STATE_DIR: state, DSTREAM_KAFKA_BROKERS: brokers },
      timeout: 120_000
    })
    t.equal(ran.code, 0, ran.stderr)
    const { batches } = linesOf(ran.stdout)
    const ranges = batches.flatMap(b => b.offsets ?? [])
    t.ok(ranges.every(r => r.until - r.from <= most), `--interval ${interval} --max-rate-per-partition ${rate}: no range spans more than ${most}: ${ranges.map(r => `${r.partition}:${r.from}..${r.until}`).join(' ')}`)
    t.ok(ranges.some(r => r.until - r.from === most), `some range spans ${most}: the rate is used, not undercut`)
    t.ok(batches.filter(b => b.records.length > 0).length >= 12 / most, `over several batches (${batches.filter(b => b.records.length > 0).length} with records)`)
    t.same(sorted(allRecords(batches)), sorted(values), 'every record, once')
    checkRanges(t, batches, topic, zeros(ends), endsMap(ends))
    // the source's metrics: after each batch, the records still behind the end offsets
    const metrics = fs.readdirSync(path.join(state, 'metrics')).find(f => f.startsWith('kafka-'))!
    const lags = new Map(fs.readFileSync(path.join(state, 'metrics', metrics), 'utf8').trim().split('\n').slice(1).map(l => JSON.parse(l)).map(m => [m.time, m.lag?.records]))
    // a batch cut before the group gave the source its partitions has no lag to say
    // (and no records); from the first with partitions on, every batch says its lag
    const known = batches.findIndex(b => lags.get(b.time) !== undefined)
    t.ok(known >= 0 && batches.slice(0, known).every(b => b.records.length === 0), `--interval ${interval}: only batches before the partitions came lack a lag (${known})`)
    let read = 0
    const expected = batches.map(b => [b.time, values.length - (read += b.records.length)]).slice(known)
    t.same(batches.slice(known).map(b => [b.time, lags.get(b.time)]), expected, `--interval ${interval}: the lag of every batch, in records`)
  }
})

t.test('--from earliest and latest for a new group; a group with committed offsets goes on from them', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('from'), 2)
  t.teardown(() => deleteTopics(brokers, [topic]))
  const env = () => ({ DSTREAM_STATE_DIR: freshDir(), DSTREAM_KAFKA_BROKERS: brokers })
  const before = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']
  await produce(brokers, topic, before.map((value, i) => ({ value, partition: i % 2 })))
  const early = uniqueName('early')
  const late = uniqueName('late')

  const earliest = await sh(`dstream kafka --topic ${topic} --group ${early} --from earliest --once`, { env: env(), timeout: 120_000 })
  t.equal(earliest.code, 0, earliest.stderr)
  t.same(sorted(allRecords(linesOf(earliest.stdout).batches)), before, '--from earliest: what was there before the start is read')

  const lateOnce = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('late-once')} --from latest --once`, { env: env(), timeout: 120_000 })
  t.equal(lateOnce.code, 0, lateOnce.stderr)
  t.same(allRecords(linesOf(lateOnce.stdout).batches), [], '--from latest --once: nothing (it is at the end already)')

  const run = running(t, `dstream kafka --topic ${topic} --group ${late} --from latest`, env())
  await run.until(() => soFar(run.stdout()).some(b => (b.offsets ?? []).length === 2), 'a batch with the ranges of both partitions')
  const after = ['a0', 'a1', 'a2', 'a3']
  await produce(brokers, topic, after.map((value, i) => ({ value, partition: i % 2 })))
  await run.until(() => allRecords(soFar(run.stdout())).length >= after.length, 'the records produced after the start')
  await sleep(1500) // a batch or so more, for anything that should not come
  const exited = await run.stop('SIGINT')
  t.equal(exited.code, 0, `SIGINT: exit 0\n${exited.stderr}`)
  t.same(sorted(allRecords(linesOf(exited.stdout).batches)), after, '--from latest: only what was produced after the start')
  await lagZero(t, brokers, late, topic, 'the live group committed on its graceful stop: lag 0')

  // both groups have committed offsets now: --from no longer matters, whichever it says
  const earlyAt = await pollFor(() => groupOffsets(brokers, early, topic), o => [...o.values()].reduce((a, b) => a + b, 0) === before.length, { ms: 20_000 })
  t.same(Object.fromEntries(earlyAt), { 0: 3, 1: 3 }, 'the earliest group has committed what it read')
  const later = ['c0', 'c1', 'c2']
  await produce(brokers, topic, later.map((value, i) => ({ value, partition: i % 2 })))
  const again = await sh(`dstream kafka --topic ${topic} --group ${early} --from latest --once`, { env: env(), timeout: 120_000 })
  t.equal(again.code, 0, again.stderr)
  t.same(sorted(allRecords(linesOf(again.stdout).batches)), sorted([...after, ...later]), 'a group with committed offsets, a fresh state directory and --from latest: from the committed offsets on')
  const lateAgain = await sh(`dstream kafka --topic ${topic} --group ${late} --from earliest --once`, { env: env(), timeout: 120_000 })
  t.equal(lateAgain.code, 0, lateAgain.stderr)
  t.same(sorted(allRecords(linesOf(lateAgain.stdout).batches)), later, 'a group with committed offsets, a fresh state directory and --from earliest: from the committed offsets on, not the start')
})

t.test('progress bars on a terminal: --once, the replay, a plain run far behind; none on a pipe', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('bar'), 2)
  t.teardown(() => deleteTopics(brokers, [topic]))
  await produce(brokers, topic, Array.from({ length: 50 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })))
  const dir = freshDir()
  const env = { DSTREAM_STATE_DIR: path.join(dir, 'state'), DSTREAM_KAFKA_BROKERS: brokers }
  /** `command` with stderr on a pseudo-terminal: what the terminal shows in the end (each line as last drawn, escapes out) */
  const onTerminal = async (command: string) => {
    const ran = await sh(`script -qec ${JSON.stringify(command)} /dev/null < /dev/null`, { env, timeout: 120_000 })
    const shown = ran.stdout.replace(/\r\n/g, '\n').split('\n').map(line => line.split(/\x1b\[1G|\r/).filter(Boolean).at(-1) ?? '').join('\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    return { ...ran, shown }
  }
  const once = (group: string) => `dstream kafka --topic ${topic} --group ${group} --from earliest --once`

  const tty = await onTerminal(`${once(uniqueName('bar'))} > ${dir}/once.out`)
  t.equal(tty.code, 0, tty.stderr)
  t.equal(allRecords(linesOf(fs.readFileSync(`${dir}/once.out`, 'utf8')).batches).length, 50, 'every record read')
  t.match(tty.shown, /^dstream kafka: reading [^\n]+\ndstream kafka: \[#+\] 100% {2}50 of 50 records\n$/, '--once: the bar over the backlog, full, its line ended')
  const piped = await sh(once(uniqueName('bar')), { env, timeout: 120_000 })
  t.equal(piped.code, 0, piped.stderr)
  t.match(piped.stderr, /^(dstream kafka: reading [^\n]+\n)+$/, '--once, stderr a pipe: what is said, no bar')

  // the replay: kafka into save, the sink's commit taken back
  const group = uniqueName('bar')
  const first = await sh(`${once(group)} | dstream save ${dir}/saved/b`, { env, timeout: 120_000 })
  t.equal(first.code, 0, first.stderr)
  const save = fs.readdirSync(env.DSTREAM_STATE_DIR).map(n => path.join(env.DSTREAM_STATE_DIR, n)).find(m => fs.existsSync(path.join(m, 'commit.json')))!
  const commit = JSON.parse(fs.readFileSync(path.join(save, 'commit.json'), 'utf8'))
  fs.writeFileSync(path.join(save, 'commit.json'), JSON.stringify({ ...commit, committed: null }) + '\n')
  const replayed = await onTerminal(`${once(group)} | dstream save ${dir}/saved/b`)
  t.equal(replayed.code, 0, replayed.stderr)
  t.match(replayed.shown, /^dstream kafka: replaying \d+ batch(es)? the pipeline had not committed [^\n]+\ndstream kafka: \[#+\] 100% {2}50 of 50 records\n/, 'the replay: said, then its bar over the records of its batches')

  // a plain run (stopped by SIGINT, with a state directory of its own: no sink to wait
  // for): no bar for a backlog read at once; one for a backlog that takes a while (here
  // the reader waits 2 s once the records begin to come, and a full pipe holds the source back)
  const quick = await onTerminal(`timeout -s INT 5 dstream kafka --topic ${topic} --group ${uniqueName('bar')} --from earliest --state-dir ${dir}/quick > /dev/null`)
  // (a machine too busy to read 50 records within the bar's first second shows the
  // catch-up bar, as it should: then it must be whole and its line ended; CI saw it once)
  t.match(quick.shown, /^dstream kafka: reading [^\n]+\n(dstream kafka: \[#+\] 100% {2}50 of 50 records\n)?$/, 'a plain run a moment behind: no bar, or on a busy machine a whole one')
  await produce(brokers, topic, Array.from({ length: 4000 }, (_, i) => ({ value: `${i} ${'x'.repeat(200)}`, partition: i % 2 })))
  const slow = await onTerminal(`timeout -s INT 10 dstream kafka --topic ${topic} --group ${uniqueName('bar')} --from earliest --state-dir ${dir}/slow | (head -c 1 > /dev/null; sleep 2; cat > /dev/null)`)
  t.match(slow.shown, /^dstream kafka: reading [^\n]+\ndstream kafka: \[#+\] 100% {2}4,050 of 4,050 records\n$/, 'a plain run far behind: a bar while it catches up, ended once it has')
})

t.test('restart resumes: two runs into save with one state directory hold every message once', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('resume'), 3)
  const group = uniqueName('resume')
  t.teardown(() => deleteTopics(brokers, [topic]))
  const state = freshDir()
  const out = path.join(freshDir(), 'out')
  const pipeline = `dstream kafka --topic ${topic} --group ${group} --from earliest --once | dstream save ${out}/batch`
  const env = { DSTREAM_STATE_DIR: state, DSTREAM_KAFKA_BROKERS: brokers }
  /** every line of every file save wrote, and the files */
  const saved = () => {
    const files = fs.existsSync(out) ? fs.readdirSync(out).filter(f => !f.startsWith('.')).sort() : []
    return { files, lines: files.flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean)) }
  }

  const first = Array.from({ length: 12 }, (_, i) => `first-${i}`)
  await produce(brokers, topic, first.map((value, i) => ({ key: `k${i}`, value })))
  const one = await sh(pipeline, { env, timeout: 120_000 })
  t.equal(one.code, 0, one.stderr)
  t.same(sorted(saved().lines), sorted(first), 'the first run saved the first messages')
  await lagZero(t, brokers, group, topic, 'after the first run: lag 0')
  const filesOfOne = saved().files

  const second = Array.from({ length: 9 }, (_, i) => `second-${i}`)
  await produce(brokers, topic, second.map((value, i) => ({ key: `j${i}`, value })))
  const two = await sh(pipeline, { env, timeout: 120_000 })
  t.equal(two.code, 0, two.stderr)
  const { files, lines } = saved()
  t.same(sorted(lines), sorted([...first, ...second]), 'the union of the saved batches: every message exactly once')
  const newFiles = files.filter(f => !filesOfOne.includes(f))
  t.same(sorted(newFiles.flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean))), sorted(second), 'the second run\'s batches hold the new messages only')
  await lagZero(t, brokers, group, topic, 'after the second run: lag 0')

  const three = await sh(pipeline, { env, timeout: 120_000 })
  t.equal(three.code, 0, three.stderr)
  t.same(sorted(saved().lines), sorted([...first, ...second]), 'a third run with nothing new adds nothing')

  // live, messages coming while it runs; Ctrl-C (SIGINT to every command of the
  // pipeline): the source emits its open batch and waits for save to commit it
  const filesBefore = saved().files.length
  const live = running(t, `dstream kafka --topic ${topic} --group ${group} | dstream save ${out}/batch`, env)
  await live.until(() => saved().files.length > filesBefore, 'a batch of the live run saved')
  const third = Array.from({ length: 15 }, (_, i) => `third-${i}`)
  for (let i = 0; i < third.length; i += 5) {
    await produce(brokers, topic, third.slice(i, i + 5).map((value, j) => ({ key: `h${i + j}`, value })))
    await sleep(400)
  }
  await live.until(() => saved().lines.filter(l => l.startsWith('third-')).length >= third.length, 'the messages produced while it runs, saved')
  const stopped = await live.stop('SIGINT')
  t.equal(stopped.code, 0, `SIGINT: the pipeline stops gracefully, exit 0\n${stopped.stderr}`)
  t.same(sorted(saved().lines), sorted([...first, ...second, ...third]), 'after the live run: every message exactly once')
  await lagZero(t, brokers, group, topic, 'after the graceful stop: lag 0')
})

t.test('--with-meta and --json', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await createTopic(brokers, uniqueName('meta'), 2)
  t.teardown(() => deleteTopics(brokers, [topic]))
  await produce(brokers, topic, [
    { partition: 0, key: 'a', value: '{"n":1}', headers: { trace: 't1' } },
    { partition: 0, key: null, value: '[1,2]' },
    { partition: 0, key: 'gone', value: null }, // a tombstone
    { partition: 1, key: 'b', value: '"text"', headers: { multi: ['x', 'y'], one: '1' } },
    { partition: 1, key: 'c', value: '42' }
  ])
  const sent = await readTopic(brokers, topic)
  t.equal(sent.length, 5)
  const env = () => ({ DSTREAM_STATE_DIR: freshDir(), DSTREAM_KAFKA_BROKERS: brokers })
  const read = async (flags: string) => {
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once ${flags}`, { env: env(), timeout: 120_000 })
    t.equal(ran.code, 0, `${flags}: exit 0\n${ran.stderr}`)
    return linesOf(ran.stdout).batches
  }

  const plain = await read('')
  t.same(sorted(allRecords(plain)), sorted(['{"n":1}', '[1,2]', null, '"text"', '42']), 'plain: the values as strings, null for a tombstone')

  const json = await read('--json')
  t.same(sorted(allRecords(json)), sorted([{ n: 1 }, [1, 2], null, 'text', 42]), '--json: the values parsed, a tombstone null')

  const meta = await read('--with-meta --json')
  const parsed = (v: string | null) => v === null ? null : JSON.parse(v)
  const expected = sent.map(m => ({ topic, partition: m.partition, offset: m.offset, key: m.key, value: parsed(m.value), timestamp: m.timestamp, headers: m.headers }))
  const records = allRecords(meta) as Array<typeof expected[number]>
  t.same(records.slice().sort((a, b) => a.partition - b.partition || a.offset - b.offset), expected, '--with-meta --json: {topic, partition, offset, key, value, timestamp, headers} of every message')
  t.same(expected.map(e => e.headers), [{ trace: 't1' }, {}, {}, { multi: ['x', 'y'], one: '1' }, {}], 'headers as strings, a repeated header as an array')
  for (const b of meta) {
    const rs = b.records as typeof records
    t.ok(rs.every((r, i) => i === 0 || rs[i - 1].partition < r.partition || (rs[i - 1].partition === r.partition && rs[i - 1].offset < r.offset)), `batch ${b.time}: records in the order of partition and offset`)
  }

  const metaPlain = await read('--with-meta')
  t.same((allRecords(metaPlain) as typeof records).map(r => r.value).sort(), ['{"n":1}', '[1,2]', null, '"text"', '42'].sort(), '--with-meta without --json: the values as strings')
})

t.test('bad input, missing topics, unreachable brokers, bad usage', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const env = (state = freshDir()) => ({ DSTREAM_STATE_DIR: state, DSTREAM_KAFKA_BROKERS: brokers })
  // the brokers nobody answers for are tried for about half a minute: start at once, look at the end
  const unreachable = sh(`dstream kafka --topic whatever --group ${uniqueName('g')} --brokers 127.0.0.1:1 --once`, { env: env(), timeout: 150_000 })

  const topic = await createTopic(brokers, uniqueName('bad'), 1)
  const waited = uniqueName('later')
  t.teardown(() => deleteTopics(brokers, [topic, waited]))
  await produce(brokers, topic, ['{"a":1}', '[2]', 'oops{', '3'].map(value => ({ value })))

  t.test('--json and a value that is not JSON: exit 65 naming the batch and the record', async t => {
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once --json`, { env: env(), timeout: 120_000 })
    t.equal(ran.code, 65, 'exit 65')
    t.match(ran.stderr, /dstream kafka: batch \d+: not JSON/, 'names the operator and the batch')
    t.match(ran.stderr, new RegExp(`"topic":"${topic}","partition":0,"offset":2,"value":"oops\\{"`), 'names the record: topic, partition, offset and value')
  })

  t.test('--on-bad-input skip: the good records, and the bad one in the dead-letter file', async t => {
    const state = freshDir()
    const ran = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --from earliest --once --json --on-bad-input skip`, { env: env(state), timeout: 120_000 })
    t.equal(ran.code, 0, ran.stderr)
    t.same(allRecords(linesOf(ran.stdout).batches), [{ a: 1 }, [2], 3], 'the good records, in order')
    const dead = fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l))
    t.equal(dead.length, 1, 'one dead letter')
    t.same(dead[0]?.record, { topic, partition: 0, offset: 2, value: 'oops{' }, 'its record is {topic, partition, offset, value}')
  })

  t.test('after exit 65, the same pipeline again with --on-bad-input skip: the batch that failed is not lost', async t => {
    // the batch that failed was never emitted: neither the group's offsets nor the
    // source's log may count it as delivered, so the run that skips bad input
    // (same state directory, same group) gets its good records
    const state = freshDir()
    const group = uniqueName('g')
    const failed = await sh(`dstream kafka --topic ${topic} --group ${group} --from earliest --once --json`, { env: env(state), timeout: 120_000 })
    t.equal(failed.code, 65, 'exit 65')
    await sleep(2000) // a transactional offset commit would show by now
    const committed = await groupOffsets(brokers, group, topic)
    t.ok((committed.get(0) ?? -1) <= 0, `the group has not committed past records never emitted (partition 0 at ${committed.get(0)})`)
    const again = await sh(`dstream kafka --topic ${topic} --group ${group} --from earliest --once --json --on-bad-input skip`, { env: env(state), timeout: 120_000 })
    t.equal(again.code, 0, again.stderr)
    t.same(allRecords(linesOf(again.stdout).batches), [{ a: 1 }, [2], 3], 'the good records of the batch that failed come now')
    let dead: any[] = []
    try { dead = fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) } catch {}
    t.same(dead.map(d => d.record), [{ topic, partition: 0, offset: 2, value: 'oops{' }], 'and the bad one is in the dead-letter file')
  })

  t.test('in a pipeline with a sink: after exit 65, the run with --on-bad-input skip replays the batch that failed, promptly', async t => {
    const state = freshDir()
    const group = uniqueName('g')
    const out = path.join(freshDir(), 'out')
    const pipeline = (flags: string) => `dstream kafka --topic ${topic} --group ${group} --from earliest --once --json ${flags} | dstream save ${out}/batch`
    const failed = await sh(pipeline(''), { env: env(state), timeout: 120_000 })
    t.equal(failed.code, 65, `exit 65\n${failed.stderr}`)
    // the restart replays the batch that save never got; a run takes seconds, joining
    // the group included (up to the session timeout, 10 s, as the failed run did not
    // leave it), so a minute and a half is plenty even on a loaded machine
    const started = Date.now()
    const again = await running(t, pipeline('--on-bad-input skip'), env(state), 90_000).exited
    const took = Date.now() - started
    t.equal(again.code, 0, `exit 0 within 90 s (took ${took} ms, ${again.signal ? `killed: ${again.signal}` : 'ended by itself'})\n${again.stderr}`)
    // the failed batch left the log again when it failed (nothing of it was emitted), so
    // it is read afresh rather than replayed: what matters is what save holds, below
    t.notMatch(again.stderr, /were not committed within/, 'the group does not wait for a batch in flight that is committed already')
    const files = fs.existsSync(out) ? fs.readdirSync(out).filter(f => !f.startsWith('.')) : []
    t.same(files.flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean)), ['{"a":1}', '[2]', '3'], 'save has the good records')
    await lagZero(t, brokers, group, topic, 'and the group is at the end: lag 0')
  })

  t.test('bad input after chunks of its batch went: the unfinished batch is dropped downstream, and the run with skip has every good record once', async t => {
    // a batch goes out in chunks as its records come, partition after partition: the
    // good records of partition 0 leave before the bad one of partition 1 is read
    const two = await createTopic(brokers, uniqueName('bad2'), 2)
    t.teardown(() => deleteTopics(brokers, [two]))
    await produce(brokers, two, [...['1', '2', '3'].map(value => ({ value, partition: 0 })), { value: '4', partition: 1 }, { value: 'oops{', partition: 1 }])
    const state = freshDir()
    const group = uniqueName('g')
    const dir = freshDir()
    const out = path.join(dir, 'out')
    const pipeline = (flags: string) => `dstream kafka --topic ${two} --group ${group} --from earliest --once --json --chunk 1 ${flags} | tee -a ${dir}/wire.ndjson | dstream map '_ * 10' | dstream save ${out}/batch`
    // the source's own exit status (save's, at the end of the pipe, is 1: see below)
    const failed = await sh(pipeline('') + '; exit ${PIPESTATUS[0]}', { env: env(state), timeout: 120_000 })
    t.equal(failed.code, 65, `kafka: exit 65\n${failed.stderr}`)
    const wire: Line[] = fs.readFileSync(path.join(dir, 'wire.ndjson'), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l))
    const sent = wire.filter(c => c.time === wire.at(-1)?.time)
    t.ok(sent.length >= 2 && sent.every(c => c.more === true), `chunks of the batch went before the bad record (${sent.length}, all with more)`)
    t.match(failed.stderr, /dstream save: input ended inside batch \d+ .*dropped/, 'save says it drops the unfinished batch')
    t.same(fs.existsSync(out) ? fs.readdirSync(out) : [], [], 'save wrote nothing, not even a temporary file')
    const again = await sh(pipeline('--on-bad-input skip'), { env: env(state), timeout: 120_000 })
    t.equal(again.code, 0, again.stderr)
    const files = fs.readdirSync(out).filter(f => !f.startsWith('.'))
    t.same(files.flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean)), ['10', '20', '30', '40'], 'save has every good record once, in one batch')
    await lagZero(t, brokers, group, two, 'and the group is at the end: lag 0')
  })

  t.test('a topic that does not exist: exit 1 naming it; --wait-for-topic waits for it', async t => {
    const missing = uniqueName('missing')
    const ran = await sh(`dstream kafka --topic ${missing} --group ${uniqueName('g')} --once`, { env: env(), timeout: 120_000 })
    t.equal(ran.code, 1, 'exit 1')
    t.match(ran.stderr, missing, 'names the topic')
    t.match(ran.stderr, /--wait-for-topic/, 'and says how to wait for it')

    const run = running(t, `dstream kafka --topic ${waited} --group ${uniqueName('g')} --from earliest --wait-for-topic`, env())
    await run.until(() => /waiting for the topic/.test(run.stderr()) && run.stderr().includes(waited), 'a word that it waits for the topic')
    await sleep(1500)
    t.equal(run.stdout(), '', 'no batches while it waits')
    await createTopic(brokers, waited, 2)
    await produce(brokers, waited, [{ value: 'w0', partition: 0 }, { value: 'w1', partition: 1 }, { value: 'w2', partition: 0 }])
    await run.until(() => allRecords(soFar(run.stdout())).length >= 3, 'the records of the topic once it is there')
    const exited = await run.stop('SIGTERM')
    t.equal(exited.code, 0, `SIGTERM: exit 0\n${exited.stderr}`)
    t.same(sorted(allRecords(linesOf(exited.stdout).batches)), ['w0', 'w1', 'w2'], 'what was produced into it, once')
  })

  t.test('bad usage: exit 2', async t => {
    const zero = await sh(`dstream kafka --topic ${topic} --group ${uniqueName('g')} --max-rate-per-partition 0`, { env: env(), timeout: 60_000 })
    t.equal(zero.code, 2, '--max-rate-per-partition 0: exit 2')
    t.match(zero.stderr, /--max-rate-per-partition/, 'names the option')
    t.match(zero.stderr, /Usage: dstream kafka/, 'with the usage')
    const noGroup = await sh(`dstream kafka --topic ${topic}`, { env: env(), timeout: 60_000 })
    t.equal(noGroup.code, 2, 'no --group: exit 2')
  })

  t.test('brokers nobody answers for: exit 1 naming them, after trying a while', async t => {
    const ran = await unreachable
    t.equal(ran.code, 1, `exit 1\n${ran.stderr}`)
    t.match(ran.stderr, /127\.0\.0\.1:1\b/, 'names the brokers')
  })
})
