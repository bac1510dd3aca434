// The kafka source under the crash test, with to-kafka as the sink: a word count
// from a topic of 4 partitions (filled up front) into another topic, killed with
// SIGKILL at random moments (any of its processes) and started again, then let
// finish with --once. Read with read_committed, the output topic holds exactly what
// an uninterrupted run writes; every word's running counts in it go up batch by
// batch with nothing lost or written twice, ending at the input's counts; the
// per-batch counts saved on the way add up to the input's; and the source's group
// has committed every offset of the input topic (lag 0).
//
// Why the two runs can be compared record for record although batches are cut by
// the clock: the input is all in the topic before the first run, and
// --max-rate-per-partition caps each batch at the same slice of every partition, so
// the non-empty batches are the same slices in every run. What differs is only the
// empty batches (before the group assigns the partitions, after each restart), and
// those write nothing: the pipeline writes a word only when the batch brought it.
//
// Then two cases a crash run meets only by chance, made sure of: a restart with
// batches to replay (its group must not wait for offsets only it can commit), and a
// sink whose process starts after the source has committed offsets for batches that
// sink never saw (the replay must still give it every record).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { shellQuote } from '../../lib/ops/show.js'
import { crashRuns, keep, random, runPipeline, savedCounts, savedFiles, seedFromEnv, sentence, sleep, sortedEntries, wordCounts } from '../crash.js'
import { DSTREAM, freshDir, userEnv } from '../helpers.js'
import { kafka } from '../services.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)
const LINES = 9000
const PARTITIONS = 4
/** 30 records per partition per batch of 500 ms: 120 lines a batch, the input in 75 batches (37.5 s) */
const RATE = ['--interval', '500ms', '--max-rate-per-partition', '60']

function client (brokers: string): Kafka {
  return new Kafka({ clientId: 'dstream-test', brokers: [brokers], logLevel: logLevel.NOTHING })
}

/** A new topic, once every partition has a leader (kafkajs's waitForLeaders may throw UNKNOWN_TOPIC_OR_PARTITION meanwhile). */
async function createTopic (brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = client(brokers).admin()
  try {
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false })
    for (let i = 0; ; i++) {
      try {
        if ((await admin.fetchTopicOffsets(topic)).length === partitions) return
      } catch (err) {
        if (i >= 50) throw err
      }
      await sleep(200)
    }
  } finally {
    await admin.disconnect()
  }
}

/** The lines into the topic, round robin over its partitions, keyed. */
async function fill (brokers: string, topic: string, lines: string[]): Promise<void> {
  const producer = client(brokers).producer()
  try {
    await producer.connect()
    for (let i = 0; i < lines.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: lines.slice(i, i + 500).map((value, j) => ({ key: `line-${i + j}`, value, partition: (i + j) % PARTITIONS })) })
    }
  } finally {
    await producer.disconnect()
  }
}

/** The topic's committed messages (read_committed) as [key, value], in order: read until none has come for 3 s. */
async function messages (brokers: string, topic: string): Promise<Array<[string, string]>> {
  const consumer = client(brokers).consumer({ groupId: `reader-${topic}`, readUncommitted: false })
  const seen: Array<[string, string]> = []
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      let idle = setTimeout(resolve, 15_000)
      consumer.run({
        eachMessage: async ({ message }) => {
          seen.push([message.key!.toString(), message.value!.toString()])
          clearTimeout(idle)
          idle = setTimeout(resolve, 3000)
        }
      }).catch(err => { clearTimeout(idle); reject(err) })
    })
  } finally {
    await consumer.disconnect()
  }
  return seen
}

/**
 * The group's lag on the topic, partition → end offset less committed offset; polled
 * (up to 10 s) until it is 0, as the offsets are committed in transactions that
 * become visible a moment after the source has ended.
 */
async function lag (brokers: string, group: string, topic: string): Promise<Record<number, number>> {
  const admin = client(brokers).admin()
  try {
    await admin.connect()
    for (let i = 0; ; i++) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      const behind: Record<number, number> = {}
      for (const { partition, high } of ends) {
        const at = Number(committed?.partitions.find(p => p.partition === partition)?.offset ?? -1)
        behind[partition] = Number(high) - Math.max(at, 0)
      }
      if (Object.values(behind).every(n => n === 0) || i >= 20) return behind
      await sleep(500)
    }
  } finally {
    await admin.disconnect()
  }
}

async function deleteTopics (brokers: string, topics: string[]): Promise<void> {
  const admin = client(brokers).admin()
  try {
    await admin.connect()
    await admin.deleteTopics({ topics })
  } catch { /* a topic left behind fails nothing */ } finally {
    await admin.disconnect()
  }
}

/**
 * Every word's messages, in order, are [n, d]: d > 0 the count this batch brought, n
 * the running count, which is the last message's n plus d. A batch written twice
 * repeats an n; a batch counted but not written leaves its d out of the next n; a
 * batch lost before the count, or counted twice, leaves the last n off the input's
 * count. Gives what is wrong, per word.
 */
function chainFaults (written: Array<[string, string]>, totals: Map<string, number>): string[] {
  const faults: string[] = []
  const last = new Map<string, number>()
  for (const [i, [word, value]] of written.entries()) {
    const [n, d] = JSON.parse(value) as [number, number]
    const before = last.get(word) ?? 0
    if (!(d > 0) || n !== before + d) faults.push(`message ${i}: ${word} ${value} after ${before}`)
    last.set(word, n)
  }
  for (const [word, total] of totals) if (last.get(word) !== total) faults.push(`${word}: the last count written is ${last.get(word)}, the input has ${total}`)
  for (const word of last.keys()) if (!totals.has(word)) faults.push(`${word}: not a word of the input`)
  return faults
}

t.test('from a topic into a topic: the same records, once each, and the group at the end', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0x4afa)
  const lines = Array.from({ length: LINES }, () => sentence(next).join(' '))
  const totals = wordCounts(lines)
  const suffix = `${process.pid}-${seed}`
  const input = `crash-kafka-in-${suffix}`
  const stages = (group: string, out: string, once: boolean) => [
    ['kafka', '--brokers', brokers, '--topic', input, '--group', group, '--from', 'earliest', ...RATE, '--session-timeout', '6s', ...(once ? ['--once'] : [])],
    ['flat-map', '_.split(" ")'],
    ['map', 'w => [w, 1]'],
    ['reduce-by-key', 'sum'],
    ['save', 'out/counts', '--pass'],
    // the running count n, and d what this batch brought (0 in a batch without the word)
    ['update-state-by-key', '(vs, s) => { const d = vs.reduce((a, b) => a + b, 0); return { n: (s?.n ?? 0) + d, d } }'],
    ['filter', '([, s]) => s.d > 0'],
    ['to-kafka', '--brokers', brokers, '--topic', out, '--key', '([w]) => w', '--value', '([, s]) => JSON.stringify([s.n, s.d])']
  ]
  const crashedGroup = `crash-kafka-crashed-${suffix}`
  const crashedOut = `crash-kafka-crashed-out-${suffix}`
  const wholeGroup = `crash-kafka-whole-${suffix}`
  const wholeOut = `crash-kafka-whole-out-${suffix}`
  await createTopic(brokers, input, PARTITIONS)
  await createTopic(brokers, crashedOut, 1)
  await createTopic(brokers, wholeOut, 1)
  await fill(brokers, input, lines)

  const crashed = freshDir()
  const whole = freshDir()
  const began = Date.now()
  const elapsed = () => `${Math.round((Date.now() - began) / 1000)} s`
  // the uninterrupted run, meanwhile: its own group, output topic and state directory
  const referenceRun = runPipeline(whole, stages(wholeGroup, wholeOut, true), { timeoutMs: 120_000 }).then(run => {
    t.comment(`the uninterrupted run ended at ${elapsed()}`)
    return run
  }, (err: Error) => err)
  let kept = false
  const keepRuns = () => { if (!kept) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`); kept = true }
  // how far each run got: the words counted in the batches saved so far
  const progress = () => [...savedFiles(path.join(crashed, 'out')).values()].reduce((sum, text) => sum + text.split('\n').filter(Boolean).reduce((s, l) => s + JSON.parse(l)[1], 0), 0)
  const kills = await crashRuns(crashed, seed, KILLS, stages(crashedGroup, crashedOut, false), {
    // a restarted source waits for the group (3 s for a new one, 6 s more while a killed member is in it): most kills land while it reads
    minMs: 5000,
    maxMs: 13000,
    afterRun: () => t.comment(`  at ${elapsed()}: ${progress()} words of ${lines.reduce((n, l) => n + l.split(' ').length, 0)} counted so far`),
    log: text => t.comment(text)
  })
  // the last run reads at most the 75 batches of the input, once the group has let it in
  const last = await runPipeline(crashed, stages(crashedGroup, crashedOut, true), { timeoutMs: 90_000 }).catch((err: Error) => err)
  if (last instanceof Error) {
    await referenceRun
    keepRuns()
    t.fail(`seed ${seed}: the last run (--once) ends: ${last.message}`)
    return
  }
  t.comment(`the last run ended at ${elapsed()}`)
  t.same(last.statuses, stages('', '', true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)

  const reference = await referenceRun
  if (reference instanceof Error) {
    keepRuns()
    t.fail(`the uninterrupted run (--once) ends: ${reference.message}`)
    return
  }
  t.same(reference.statuses, stages('', '', true).map(() => 0), `the uninterrupted run ends cleanly\n${reference.stderr}`)

  const expected = await messages(brokers, wholeOut)
  const got = await messages(brokers, crashedOut)
  t.ok(expected.length > 200, `the uninterrupted run wrote ${expected.length} records`)
  t.same(chainFaults(expected, totals), [], 'the uninterrupted run: every word\'s counts go up batch by batch to the input\'s')
  const faults = chainFaults(got, totals)
  if (faults.length > 0) keepRuns()
  t.same(faults, [], `seed ${seed}: read_committed, every word's counts go up batch by batch, nothing lost, nothing twice, to the input's (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  // A source restarted while the member it replaces (killed with -9) is still in the
  // group until its session times out may be given only some partitions for those
  // seconds ("reading TOPIC/1,3"): its batches then hold other records than the
  // uninterrupted run's, though nothing is lost or counted twice (checked above). The
  // batches are the same only when every run read every partition.
  const runsLog = path.join(crashed, 'stderr.log')
  const readings = [...((fs.existsSync(runsLog) ? fs.readFileSync(runsLog, 'utf8') : '') + last.stderr).matchAll(/dstream kafka: reading \S+\/([\d,]+)/g)].map(m => m[1])
  const split = readings.filter(list => list.split(',').length < PARTITIONS)
  if (split.length > 0) {
    t.comment(`seed ${seed}: a restarted source shared the group with a killed member for a while (it read ${split.join(' then ')} of ${PARTITIONS} partitions): its batches are not the uninterrupted run's, and are not compared`)
  } else {
    if (got.length !== expected.length || got.some(([k, v], i) => k !== expected[i]?.[0] || v !== expected[i]?.[1])) keepRuns()
    t.same(got, expected, `seed ${seed}: read_committed, the topic holds the same records in the same order as an uninterrupted run's`)
  }

  const summed = savedCounts(path.join(crashed, 'out'), 'counts').summed
  if (JSON.stringify(sortedEntries(summed)) !== JSON.stringify(sortedEntries(totals))) keepRuns()
  t.same(sortedEntries(summed), sortedEntries(totals), `seed ${seed}: the per-batch counts of all saved batches add up to the input's`)

  const behind = await lag(brokers, crashedGroup, input)
  if (Object.values(behind).some(n => n !== 0)) keepRuns()
  t.same(behind, Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, 0])), `seed ${seed}: the group ${crashedGroup} has committed every offset of ${input}: lag 0`)
  t.same(await lag(brokers, wholeGroup, input), Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, 0])), 'and so has the uninterrupted run\'s group')

  if (t.passing()) await deleteTopics(brokers, [input, crashedOut, wholeOut])
})

// The case the crash test above meets only when a kill leaves batches the sinks had
// not committed before its last run, made sure of: the first run's sink never gets
// a batch (map blocks on its first record) and map is killed; the run after it must
// replay those batches, join its group (the batches it replays are its own, and the
// sinks commit them at once: there is nothing to wait for before the hand-over),
// read the rest, and end, with every record saved once and the group's lag 0.
t.test('a restart with batches to replay joins its group and ends', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const suffix = `${process.pid}-${Date.now()}`
  const topic = `crash-kafka-replay-${suffix}`
  const group = `crash-kafka-replay-${suffix}`
  const values = Array.from({ length: 200 }, (_, i) => `m${i}`)
  await createTopic(brokers, topic, PARTITIONS)
  await fill(brokers, topic, values)
  const stages = (once: boolean, blocking: boolean) => [
    ['kafka', '--brokers', brokers, '--topic', topic, '--group', group, '--from', 'earliest', '--interval', '500ms', '--session-timeout', '6s', ...(once ? ['--once'] : [])],
    ['map', blocking ? '_ => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000); return _ }' : '_ => _'],
    ['save', 'out/records']
  ]
  const dir = freshDir()
  const first = await runPipeline(dir, stages(false, true), { kill: { stage: 1, afterMs: 10_000 }, timeoutMs: 30_000 })
  const records = () => [...savedFiles(path.join(dir, 'out')).values()].flatMap(text => text.split('\n').filter(Boolean)) // strings bare
  t.same(records(), [], `the first run saved no record (statuses ${first.statuses.join(' ')})`)
  const again = await runPipeline(dir, stages(true, false), { timeoutMs: 60_000 }).catch((err: Error) => err)
  if (again instanceof Error) {
    t.comment(`the run is kept in ${keep(Date.now(), { replay: dir })}`)
    t.fail(`the restart (--once) ends: ${again.message}`)
    return
  }
  t.same(again.statuses, [0, 0, 0], `the restart ends cleanly\n${again.stderr}`)
  t.match(again.stderr, /replaying \d+ batch/, 'the restart replays the batches the sink had not committed')
  t.notMatch(again.stderr, /were not committed within/, 'the group does not wait out the hand-over for batches the sink has committed')
  t.same(records().sort(), [...values].sort(), 'every record saved once')
  t.same(await lag(brokers, group, topic), Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, 0])), `the group ${group} has committed every offset: lag 0`)
  if (t.passing()) await deleteTopics(brokers, [topic])
})

// A sink whose process starts late (a loaded machine can take seconds to start a
// node process) has not registered in the state directory when the first batches
// are committed by the sinks that have, and the source commits those batches'
// offsets to the group. Once registered, the late sink holds the restart point
// back. Killed before the late sink committed anything, the pipeline restarts
// before every batch, and the replay must give that sink every record, whatever the
// group's offsets say: they were committed by this very pipeline, not by another
// instance that read the records meanwhile.
t.test('a sink that starts late still gets every record after a restart', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const suffix = `${process.pid}-${Date.now()}`
  const topic = `crash-kafka-late-${suffix}`
  const group = `crash-kafka-late-${suffix}`
  const values = Array.from({ length: 200 }, (_, i) => `v${i}`)
  await createTopic(brokers, topic, PARTITIONS)
  await fill(brokers, topic, values)
  const dir = freshDir()
  const file = (name: string) => path.join(dir, name)
  const lines = (name: string) => fs.existsSync(file(name)) ? fs.readFileSync(file(name), 'utf8').split('\n').filter(Boolean) : []
  const saved = () => [...savedFiles(path.join(dir, 'out')).values()].flatMap(text => text.split('\n').filter(Boolean)) // strings bare
  // the members of the state directory, not counting the stages' metrics
  const members = () => fs.existsSync(file('state')) ? fs.readdirSync(file('state')).filter(n => n !== 'metrics').length : 0
  const source = (once: boolean) => ['kafka', '--brokers', brokers, '--topic', topic, '--group', group, '--from', 'earliest', '--interval', '500ms', '--max-rate-per-partition', '20', '--session-timeout', '6s', ...(once ? ['--once'] : [])]
  // the late sink: each batch appended to `received`; while the file `block` is there, it hangs on its first batch
  const late = ['foreach', '--text', '--', 'sh', '-c', `test -e ${shellQuote([file('block')])} && exec sleep 600; cat >> ${shellQuote([file('received')])}`]
  fs.writeFileSync(file('block'), '')

  // the first run: the late sink starts once `save` has committed batches (and the
  // source their offsets), and the run is killed while it hangs on its first batch
  const script = [
    'unset NODE_OPTIONS',
    `export DSTREAM_STATE_DIR=${shellQuote([file('state')])}`,
    `${shellQuote([DSTREAM, ...source(false)])} | ${shellQuote([DSTREAM, 'save', 'out/a', '--pass'])} | { while [ ! -e go ]; do sleep 0.1; done; exec ${shellQuote([DSTREAM, ...late])}; }`
  ].join('\n')
  const first = spawn('bash', ['-c', script], { cwd: dir, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  let stderr = ''
  first.stderr!.on('data', d => { stderr += d })
  const closed = new Promise<void>(resolve => first.on('close', () => resolve()))
  try {
    for (let i = 0; i < 300 && saved().length === 0; i++) await sleep(50)
    await sleep(1500)
    fs.writeFileSync(file('go'), '')
    for (let i = 0; i < 300 && members() < 3; i++) await sleep(50)
    await sleep(1000)
  } finally {
    try { process.kill(-first.pid!, 'SIGKILL') } catch { /* gone */ }
  }
  await closed
  t.ok(saved().length > 0, `the first run's save saved ${saved().length} records before the kill\n${stderr}`)
  t.equal(members(), 3, 'the late sink had registered')
  t.same(lines('received'), [], 'and had received nothing')

  fs.rmSync(file('block'))
  const again = await runPipeline(dir, [source(true), ['save', 'out/a', '--pass'], late], { timeoutMs: 60_000 }).catch((err: Error) => err)
  if (again instanceof Error) {
    t.comment(`the run is kept in ${keep(Date.now(), { late: dir })}`)
    t.fail(`the restart (--once) ends: ${again.message}`)
    return
  }
  t.same(again.statuses, [0, 0, 0], `the restart ends cleanly\n${again.stderr}`)
  const received = lines('received')
  if (received.length !== values.length) t.comment(`the run is kept in ${keep(Date.now(), { late: dir })}`)
  t.same(received.sort(), [...values].sort(), `the late sink: every record once (it got ${received.length} of ${values.length})\n${again.stderr}`)
  t.same(saved().sort(), [...values].sort(), 'save: every record once')
  t.same(await lag(brokers, group, topic), Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, 0])), `the group ${group} has committed every offset: lag 0`)
  if (t.passing()) await deleteTopics(brokers, [topic])
})
