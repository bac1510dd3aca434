// bench/kafka: messages per second from a topic through `map` into another topic,
// `dstream kafka | dstream map | dstream to-kafka` piped and fused, beside a bare
// kafkajs consume-transform-produce loop over the same topic in the same run; then
// the end-to-end latency of the live pipelines and of the bare loop under a steady
// load. Against the real broker of scripts/kafka/broker.sh (topics are created and
// deleted by the bench; the broker does not auto-create them).
//   npm run bench:kafka                     (1,000,000 messages)
//   MESSAGES=200000 npm run bench:kafka     (or: node dist/bench/kafka.js 200000)
// Other knobs: KAFKA_BROKERS (127.0.0.1:19092), LATENCY_RATE (20000 messages/s),
// LATENCY_SECONDS (10), DSTREAM_SOURCE_ARGS (more words for `dstream kafka`, e.g.
// "--max-rate-per-partition 50000"), RUN_TIMEOUT (seconds; default 5 times the bare
// loop's), SKIP_LATENCY=1, LATENCY_RUNS (some of bare-plain,bare-tuned,piped-1s,
// piped-200ms,fused-200ms), KEEP_TOPICS=1.
//
// The bare loop is the canonical kafkajs exactly-once loop: one consumer (a fresh
// group, fromBeginning, read_committed, kafkajs's default fetch sizes), eachBatch, and
// one transaction per eachBatch call (one partition's fetch, up to 1 MB) that sends the
// mapped messages and the consumer's offsets (sendOffsets) and commits. That is what
// a kafkajs user writes for "consume, transform, produce, exactly once", and it gives
// the same guarantee as the dstream pipeline (to-kafka: a transaction per batch; the
// source commits its offsets after the sink). Transactions per ~1 s instead would be
// fewer and larger; per eachBatch keeps every transaction within one fetch, with no
// timer and no buffering of our own. Messages have no key in both (kafkajs's default
// partitioner spreads them round robin over the output's partitions). It runs twice:
// "plain", one send per eachBatch, as written above; and with its sends cut to
// SEND_CHUNK messages (kafkajs is quadratic in the messages of one send, see
// SEND_CHUNK). The ratios are to the faster of the two, in the same run. In the
// latency runs the loop is a process of its own (`--bare-loop`), as dstream's are.
// Beside the wall time: the CPU seconds of the loop or of the pipeline's processes
// (the broker's not counted), steadier than the wall time when the machine is busy.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin')
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'
const N = Number(process.env.MESSAGES ?? (/^\d+$/.test(process.argv[2] ?? '') ? process.argv[2] : 1_000_000))
const PARTITIONS = 4
const LATENCY_RATE = Number(process.env.LATENCY_RATE ?? 20000)
const LATENCY_SECONDS = Number(process.env.LATENCY_SECONDS ?? 10)
const SOURCE_ARGS = process.env.DSTREAM_SOURCE_ARGS ?? ''
/** the map of every run: the same function in the bare loop and in `dstream map` */
const MAP = '_.toUpperCase()'
const upper = (value: string) => value.toUpperCase()
/**
 * The most messages in one producer.send of the tuned bare loop and of the fill. kafkajs
 * 2.2.4 groups a send's messages by partition in time quadratic in their number
 * (src/producer/groupMessagesPerPartition.js: `[...current, message]` per message), and
 * puts each partition's share in one record batch, which must stay under the broker's
 * message.max.bytes (1 MB by default): one send of a whole fetch or batch is slow, and
 * past ~10,000 of these lines per partition it fails.
 */
const SEND_CHUNK = 1000

const client = (id: string) => new Kafka({ clientId: `bench-${id}`, brokers: BROKERS.split(','), logLevel: logLevel.NOTHING })
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** A short access-log line, ~100 bytes, its sequence number first (lower case in it, for the map to change). */
function line (seq: number): string {
  return `${String(seq).padStart(8, '0')} 2020-05-23 19:06:00 82.88.45.${seq % 256} "get /class/${seq % 997}.html" 404 http://www.sogou.com/web?q=h`
}

// ---------------------------------------------------------------------------
// topics

async function createTopics (topics: string[]): Promise<void> {
  const admin = client('admin').admin()
  await admin.connect()
  await admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })), waitForLeaders: false })
  // every partition with a leader (kafkajs's waitForLeaders gives up too soon on a busy broker)
  for (const deadline = Date.now() + 60_000; ; await sleep(250)) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics })
      if (metadata.every(t => t.partitions.length === PARTITIONS && t.partitions.every(p => p.leader >= 0))) break
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
  }
  await admin.disconnect()
}

async function deleteTopics (topics: string[]): Promise<void> {
  const admin = client('admin').admin()
  await admin.connect()
  await admin.deleteTopics({ topics }).catch(err => console.error(`deleting the topics: ${(err as Error).message}`))
  await admin.disconnect()
}

/**
 * N lines into the topic, round robin over its partitions, 1,000 to a request (see
 * SEND_CHUNK), acks all, no compression, one send after another from an idempotent
 * producer. A plain producer sends a whole request again when one partition of it failed
 * (NOT_LEADER_OR_FOLLOWER just after the topic is created), which writes the other
 * partitions' records twice; and kafkajs's idempotent producer with sends in parallel
 * lost some records and wrote others twice here (same count, 750 of 200,000 wrong).
 */
async function fill (topic: string, n: number): Promise<number> {
  const producer = client('fill').producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const start = performance.now()
  let next = 0
  const worker = async () => {
    while (next < n) {
      const from = next
      next = Math.min(n, next + SEND_CHUNK)
      const messages = []
      for (let seq = from; seq < next; seq++) messages.push({ value: line(seq), partition: seq % PARTITIONS })
      await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None })
    }
  }
  await worker()
  const seconds = (performance.now() - start) / 1000
  await producer.disconnect()
  const admin = client('admin').admin()
  await admin.connect()
  const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
  await admin.disconnect()
  if (total !== n) throw new Error(`filling ${topic}: ${total} messages in it, not ${n}`)
  return seconds
}

/**
 * Reads a topic from the start with read_committed until `expected` distinct messages
 * (by partition and offset) are in, then a second more for any that should not be, or
 * until nothing came for 20 s. Counts the messages, the distinct sequence numbers in
 * them, and the values not upper-cased. A message the reading consumer is handed again
 * (kafkajs does that: the same offsets twice, after a rebalance of its fresh group) is
 * counted once; a message the pipeline wrote twice is two offsets with one sequence number.
 */
async function verify (topic: string, expected: number): Promise<{ count: number, distinct: number, notMapped: number, redelivered: number }> {
  const consumer = client('verify').consumer({ groupId: `verify-${topic}-${process.pid}`, readUncommitted: false, maxWaitTimeInMs: 200, maxBytes: 32 << 20, maxBytesPerPartition: 8 << 20 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen = new Uint8Array(expected)
  const offsets = Array.from({ length: PARTITIONS }, () => new Set<number>())
  let count = 0
  let distinct = 0
  let notMapped = 0
  let redelivered = 0
  let last = Date.now()
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = offsets[batch.partition]
      for (const m of batch.messages) {
        const offset = Number(m.offset)
        if (at.has(offset)) { redelivered++; continue }
        at.add(offset)
        const value = m.value?.toString() ?? ''
        const seq = Number(value.slice(0, 8))
        count++
        if (seq >= 0 && seq < expected && seen[seq] === 0) { seen[seq] = 1; distinct++ }
        if (!value.includes('WWW.SOGOU.COM')) notMapped++
      }
      last = Date.now()
    }
  })
  let allSince = 0
  for (;; await sleep(100)) {
    if (count >= expected) allSince ||= Date.now()
    if ((allSince && Date.now() - allSince > 1000) || Date.now() - last > 20_000) break
  }
  await consumer.disconnect()
  return { count, distinct, notMapped, redelivered }
}

// ---------------------------------------------------------------------------
// the bare loop

interface Loop { done: Promise<void>, count(): number, stop(): Promise<void> }

/**
 * The bare kafkajs consume-transform-produce loop (see the top of the file); done once
 * `expected` messages are written. `chunk`: the most messages in one send (Infinity: one
 * send per eachBatch, the plain loop; SEND_CHUNK: the tuned one), the sends one after
 * another in the transaction.
 */
async function bareLoop (input: string, output: string, group: string, chunk: number, expected = Infinity): Promise<Loop> {
  const kafka = client('bare-loop')
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false })
  const producer = kafka.producer({ transactionalId: `${group}-tx`, idempotent: true, maxInFlightRequests: 1 })
  await Promise.all([consumer.connect(), producer.connect()])
  await consumer.subscribe({ topics: [input], fromBeginning: true })
  let count = 0
  let finish!: () => void
  const done = new Promise<void>(resolve => { finish = resolve })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (batch.messages.length === 0) return
      const messages = batch.messages.map(m => ({ value: m.value === null ? null : upper(m.value.toString()) }))
      const transaction = await producer.transaction()
      try {
        for (let i = 0; i < messages.length; i += chunk) await transaction.send({ topic: output, messages: messages.length <= chunk ? messages : messages.slice(i, i + chunk) })
        await transaction.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] })
        await transaction.commit()
      } catch (err) {
        await transaction.abort().catch(() => {})
        throw err
      }
      count += messages.length
      if (count >= expected) finish()
    }
  })
  return {
    done,
    count: () => count,
    async stop () { await consumer.disconnect(); await producer.disconnect() }
  }
}

/** `node dist/bench/kafka.js --bare-loop IN OUT GROUP CHUNK`: the bare loop in a process of its own, live until SIGINT/SIGTERM (for the latency runs). */
async function bareLoopProcess ([input, output, group, chunk]: string[]): Promise<void> {
  const loop = await bareLoop(input, output, group, Number(chunk))
  const stop = () => { void loop.stop().then(() => process.exit(0)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  process.stderr.write('bare loop: running\n')
}

// ---------------------------------------------------------------------------
// processes

function bash (script: string, env: Record<string, string>, stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  // a process group of its own, so that a stop reaches every process of the pipeline like Ctrl-C does
  return spawn('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, ...env }, stdio: ['ignore', stdout, 'pipe'], detached: true })
}

/** Polls the resident set of every process in the group `pgid` (a pipeline); the largest peak, and whose, when stopped. */
function watchGroup (pgid: number): { stop(): { mb: number, who: string } } {
  const peaks = new Map<string, number>()
  const poll = () => {
    for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
        const at = cmd.findIndex(w => w.endsWith('/bin/dstream'))
        if (at < 0) continue
        const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
        const who = cmd[at + 1] + (cmd.includes('then') ? ' then ...' : '')
        peaks.set(who, Math.max(peaks.get(who) ?? 0, kb / 1024))
      } catch { /* the process ended meanwhile */ }
    }
  }
  const timer = setInterval(poll, 100)
  return {
    stop () {
      clearInterval(timer)
      const [who, mb] = [...peaks].sort((a, b) => b[1] - a[1])[0] ?? ['', 0]
      return { mb, who }
    }
  }
}

function exited (child: ChildProcess): Promise<number | null> {
  return new Promise(resolve => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.on('exit', code => resolve(code))
  })
}

function stderrOf (child: ChildProcess): () => string {
  let text = ''
  child.stderr!.on('data', d => { text += d })
  return () => text
}

/** Ctrl-C to the pipeline's process group; SIGKILL if it has not exited after `patience`. */
async function stopGroup (child: ChildProcess, patience = 40_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  try { process.kill(-child.pid!, 'SIGINT') } catch { /* gone */ }
  const code = await Promise.race([exited(child), sleep(patience).then(() => 'late' as const)])
  if (code !== 'late') return code
  try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
  return exited(child)
}

// ---------------------------------------------------------------------------
// throughput

interface Throughput {
  name: string
  seconds: number
  /** CPU seconds (user + system) of the loop or the pipeline's processes; not the broker's */
  cpu?: number
  ok: boolean
  note: string
  rss?: { mb: number, who: string }
}

async function throughputBare (name: string, input: string, output: string, group: string, chunk: number, timeout: number): Promise<Throughput> {
  const start = performance.now()
  const used = process.cpuUsage()
  const loop = await bareLoop(input, output, group, chunk, N)
  const late = await Promise.race([loop.done, sleep(timeout * 1000).then(() => true)])
  await loop.stop()
  const seconds = (performance.now() - start) / 1000
  const { user, system } = process.cpuUsage(used)
  const cpu = (user + system) / 1e6
  if (late) return { name, seconds, cpu, ok: false, note: `stopped after ${Math.round(timeout)} s with ${loop.count()} written` }
  return { name, seconds, cpu, ...await checked(output) }
}

async function throughputDstream (name: string, script: string, output: string, stateDir: string, timeout: number): Promise<Throughput> {
  const start = performance.now()
  // `times`: the CPU time of the shell's children, every process of the pipeline
  const child = bash(`${script} > /dev/null; rc=$?; times; exit $rc`, { DSTREAM_STATE_DIR: stateDir }, 'pipe')
  const memory = watchGroup(child.pid!)
  const stderr = stderrOf(child)
  let times = ''
  child.stdout!.on('data', d => { times += d })
  const code = await Promise.race([exited(child), sleep(timeout * 1000).then(() => 'late' as const)])
  const seconds = (performance.now() - start) / 1000
  if (code === 'late') {
    try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
    await exited(child)
  }
  const rss = memory.stop()
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(times.trim())
  const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : undefined
  const said = stderr().split('\n').filter(l => l && !/: reading |batches up to/.test(l)).map(l => `    ${l.slice(0, 300)}\n`).join('')
  if (code !== 0) {
    process.stdout.write(said)
    return { name, seconds, cpu, ok: false, note: code === 'late' ? `killed after ${Math.round(timeout)} s` : `exit ${code}`, rss }
  }
  return { name, seconds, cpu, rss, ...await checked(output) }
}

async function checked (output: string): Promise<{ ok: boolean, note: string }> {
  const { count, distinct, notMapped, redelivered } = await verify(output, N)
  const ok = count === N && distinct === N && notMapped === 0
  const again = redelivered ? ` (the reader was handed ${redelivered} twice)` : ''
  return { ok, note: (ok ? `${N.toLocaleString('en')} read back once each` : `read back ${count} messages (${distinct} distinct, ${notMapped} not mapped) of ${N}`) + again }
}

// ---------------------------------------------------------------------------
// latency

interface Latency { name: string, sent: number, received: number, median: number, p99: number, max: number, note: string }

/**
 * The latency of a live consume-map-produce process reading `input` into `output`:
 * a probe until something comes through (the process has joined its group and its
 * producer is up), a second more, then LATENCY_RATE messages/s for LATENCY_SECONDS,
 * each stamped with the time it was sent; a read_committed consumer of `output`
 * takes the time each arrives. Latency = arrival - stamp.
 */
async function latency (name: string, input: string, output: string, child: ChildProcess): Promise<Latency> {
  const stderr = stderrOf(child)
  const kafka = client('latency')
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const consumer = kafka.consumer({ groupId: `latency-${output}-${process.pid}`, readUncommitted: false, maxWaitTimeInMs: 100 })
  await Promise.all([producer.connect(), consumer.connect()])
  let measureFrom = Infinity
  const latencies: number[] = []
  let total = 0
  let code: number | null
  try {
    await consumer.subscribe({ topics: [output], fromBeginning: true })
    let probed = false
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const now = Date.now()
        for (const m of batch.messages) {
          const stamp = Number(m.value!.toString().split(' ', 1)[0])
          if (stamp >= measureFrom) latencies.push(now - stamp)
          else probed = true
        }
      }
    })
    let failed: unknown
    const send = async (producer: Producer, count: number) => {
      const stamp = Date.now()
      const messages = []
      for (let i = 0; i < count; i++) messages.push({ value: `${stamp} ${line(i).slice(9)}` })
      // in sends of SEND_CHUNK: after a stall of the event loop many are due at once
      const sends = []
      for (let i = 0; i < count; i += SEND_CHUNK) sends.push(producer.send({ topic: input, messages: messages.slice(i, i + SEND_CHUNK), acks: -1, compression: CompressionTypes.None }))
      await Promise.all(sends).catch(err => { failed ??= err })
    }
    const warmUp = Date.now()
    while (!probed) {
      if (child.exitCode !== null) throw new Error(`${name}: exited ${child.exitCode} before it answered\n${stderr()}`)
      if (Date.now() - warmUp > 60_000) throw new Error(`${name}: nothing came through in 60 s\n${stderr()}`)
      await send(producer, PARTITIONS)
      await sleep(100)
    }
    await sleep(1000)
    measureFrom = Date.now()
    let sent = 0
    total = Math.round(LATENCY_RATE * LATENCY_SECONDS)
    const sends: Array<Promise<unknown>> = []
    while (sent < total) {
      // as many as should have gone by now, every 5 ms: a steady rate, not bursts per second
      const due = Math.min(total, Math.floor(LATENCY_RATE * (Date.now() - measureFrom) / 1000))
      if (due > sent) { sends.push(send(producer, due - sent)); sent = due }
      await sleep(5)
    }
    await Promise.all(sends)
    if (failed) throw failed
    for (const waited = Date.now(); latencies.length < total && Date.now() - waited < 30_000;) await sleep(50)
    code = await stopGroup(child)
  } finally {
    await Promise.all([producer.disconnect(), consumer.disconnect()]).catch(() => {})
  }
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  const notes = []
  if (latencies.length !== total) notes.push(`${latencies.length} of ${total} arrived`)
  if (code !== 0) notes.push(`exit ${code} on Ctrl-C`)
  if (notes.length > 0) notes.push('\n' + stderr().split('\n').filter(l => l && !/: reading |batches up to|bare loop: running/.test(l)).map(l => `    ${l.slice(0, 300)}`).join('\n'))
  return { name, sent: total, received: latencies.length, median: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN, note: notes.join('; ') }
}

// ---------------------------------------------------------------------------

async function main (): Promise<void> {
  const run = `bench-kafka-${process.pid}-${Date.now().toString(36)}`
  const t = (suffix: string) => `${run}-${suffix}`
  const input = t('in')
  const outputs = ['bare-plain', 'bare-tuned', 'piped', 'fused']
  // each latency run reads a topic of its own, which only its probes and its load go into
  const latencyRuns = ['bare-plain', 'bare-tuned', 'piped-1s', 'piped-200ms', 'fused-200ms']
  const [li, lo] = [(r: string) => t(`lat-in-${r}`), (r: string) => t(`lat-out-${r}`)]
  const topics = [input, ...outputs.map(o => t(`out-${o}`)), ...latencyRuns.flatMap(r => [li(r), lo(r)])]
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-kafka-'))
  const B = `--brokers ${BROKERS}`
  const source = (topic: string, group: string, more: string) => `dstream kafka ${B} --topic ${topic} --group ${group} --from earliest ${more} ${SOURCE_ARGS}`.trim()
  const sink = (topic: string) => `to-kafka ${B} --topic ${topic}`
  const self = path.join(ROOT, 'dist', 'bench', 'kafka.js')
  try {
    await createTopics(topics)
    console.log(`kafka ${BROKERS}, ${os.cpus().length} cores, load ${os.loadavg().map(l => l.toFixed(2)).join(' ')}; ${N.toLocaleString('en')} messages of ~${line(0).length} bytes in ${PARTITIONS} partitions, map ${MAP}, outputs with ${PARTITIONS} partitions${SOURCE_ARGS ? `; kafka source given ${SOURCE_ARGS}` : ''}`)
    const filled = await fill(input, N)
    console.log(`filled the input in ${filled.toFixed(2)} s (${Math.round(N / filled).toLocaleString('en')} messages/s: kafkajs producer, sends of ${SEND_CHUNK}, acks all)\n`)

    console.log(`${'run'.padEnd(28)} ${'messages'.padStart(10)} ${'seconds'.padStart(8)} ${'msgs/s'.padStart(10)} ${'of bare'.padStart(7)} ${'CPU s'.padStart(7)} ${'CPU µs/msg'.padStart(10)} ${'peak RSS'.padStart(8)}  check`)
    const show = (r: Throughput, base: number) => console.log([
      r.name.padEnd(28),
      N.toLocaleString('en').padStart(10),
      r.seconds.toFixed(2).padStart(8),
      (r.ok ? Math.round(N / r.seconds).toLocaleString('en') : '-').padStart(10),
      (r.ok ? (base / r.seconds * 100).toFixed(0) + '%' : '-').padStart(7),
      (r.cpu === undefined ? '-' : r.cpu.toFixed(2)).padStart(7),
      (r.cpu === undefined || !r.ok ? '-' : (r.cpu / N * 1e6).toFixed(1)).padStart(10),
      (r.rss ? r.rss.mb.toFixed(0) + ' MB' : '-').padStart(8),
      ` ${r.ok ? '' : 'FAILED: '}${r.note}${r.rss ? `; largest process: ${r.rss.who}` : ''}`
    ].join(' '))
    const bareTimeout = Number(process.env.RUN_TIMEOUT ?? Math.max(120, N / 5000))
    const plain = await throughputBare('kafkajs loop, plain', input, t('out-bare-plain'), t('bare-plain'), Infinity, bareTimeout)
    const tuned = await throughputBare(`kafkajs loop, sends of ${SEND_CHUNK}`, input, t('out-bare-tuned'), t('bare-tuned'), SEND_CHUNK, bareTimeout)
    // the ratios are to the faster bare loop; a dstream run 5 times slower than that is stopped
    const bare = [plain, tuned].filter(r => r.ok).sort((a, b) => a.seconds - b.seconds)[0] ?? tuned
    show(plain, bare.seconds)
    show(tuned, bare.seconds)
    const timeout = Number(process.env.RUN_TIMEOUT ?? Math.max(60, 5 * bare.seconds))
    const piped = await throughputDstream('dstream, piped', `${source(input, t('piped'), '--once')} | dstream map '${MAP}' | dstream ${sink(t('out-piped'))}`, t('out-piped'), path.join(state, 'piped'), timeout)
    show(piped, bare.seconds)
    const fused = await throughputDstream('dstream, fused', `${source(input, t('fused'), '--once')} then map '${MAP}' then ${sink(t('out-fused'))}`, t('out-fused'), path.join(state, 'fused'), timeout)
    show(fused, bare.seconds)

    const latencies: Latency[] = []
    if (process.env.SKIP_LATENCY !== '1') {
      console.log(`\nlatency: ${LATENCY_RATE.toLocaleString('en')} messages/s for ${LATENCY_SECONDS} s into a live pipeline (each in a topic of its own); arrival in the output (read_committed) minus the time of the send`)
      console.log(`${'run'.padEnd(28)} ${'sent'.padStart(8)} ${'arrived'.padStart(8)} ${'median'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)}`)
      const live: Array<[string, string, string]> = [
        ['kafkajs loop, plain', `node ${self} --bare-loop ${li('bare-plain')} ${lo('bare-plain')} ${t('lat-bare-plain')} Infinity`, 'bare-plain'],
        [`kafkajs loop, sends of ${SEND_CHUNK}`, `node ${self} --bare-loop ${li('bare-tuned')} ${lo('bare-tuned')} ${t('lat-bare-tuned')} ${SEND_CHUNK}`, 'bare-tuned'],
        ['dstream, piped, 1s', `${source(li('piped-1s'), t('lat-piped-1s'), '--interval 1s')} | dstream map '${MAP}' | dstream ${sink(lo('piped-1s'))}`, 'piped-1s'],
        ['dstream, piped, 200ms', `${source(li('piped-200ms'), t('lat-piped-200ms'), '--interval 200ms')} | dstream map '${MAP}' | dstream ${sink(lo('piped-200ms'))}`, 'piped-200ms'],
        ['dstream, fused, 200ms', `${source(li('fused-200ms'), t('lat-fused-200ms'), '--interval 200ms')} then map '${MAP}' then ${sink(lo('fused-200ms'))}`, 'fused-200ms']
      ]
      const ms = (n: number) => (Number.isNaN(n) ? '-' : `${n} ms`).padStart(9)
      for (const [name, script, r] of live) {
        if (process.env.LATENCY_RUNS && !process.env.LATENCY_RUNS.split(',').includes(r)) continue
        const child = bash(script, { DSTREAM_STATE_DIR: path.join(state, `latency-${r}`) })
        const l = await latency(name, li(r), lo(r), child).catch(async err => {
          await stopGroup(child, 5000)
          return { name, sent: 0, received: 0, median: NaN, p99: NaN, max: NaN, note: `FAILED: ${(err as Error).message}` }
        })
        latencies.push(l)
        console.log(`${l.name.padEnd(28)} ${String(l.sent).padStart(8)} ${String(l.received).padStart(8)} ${ms(l.median)} ${ms(l.p99)} ${ms(l.max)}  ${l.note}`)
      }
    }

    console.log(`\nload average at the end: ${os.loadavg().map(l => l.toFixed(2)).join(' ')} (other work on the machine slows every run; CPU s is less sensitive to it)`)
    const rate = (r: Throughput) => N / r.seconds
    for (const r of [piped, fused]) {
      if (!r.ok) { console.log(`${r.name}: FAILED (${r.note}): targets NOT met`); continue }
      console.log(`${r.name}: ${Math.round(rate(r)).toLocaleString('en')} msgs/s (target >= 100,000): ${rate(r) >= 1e5 ? 'met' : 'NOT met'}; ${(rate(r) / rate(bare) * 100).toFixed(0)}% of the bare loop's ${Math.round(rate(bare)).toLocaleString('en')} (target >= 50%): ${rate(r) / rate(bare) >= 0.5 ? 'met' : 'NOT met'}`)
    }
    if (![plain, tuned, piped, fused].every(r => r.ok) || latencies.some(l => l.sent === 0 || l.received !== l.sent)) process.exitCode = 1
  } finally {
    if (process.env.KEEP_TOPICS !== '1') await deleteTopics(topics)
    fs.rmSync(state, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--bare-loop') bareLoopProcess(process.argv.slice(3)).catch(err => { console.error(err); process.exit(1) })
else main().catch(err => { console.error(err); process.exit(1) })
