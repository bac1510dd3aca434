// What the Kafka tests share, against the real broker of test/services.ts
// (scripts/kafka/broker.sh): unique names, topics made and removed, messages
// produced (plainly or in one transaction), a topic read whole with read_committed,
// and a consumer group's committed offsets and lag. Every client is made and closed
// per call, with kafkajs's own logging off. Then what the tests that run a kafka
// pipeline for a while share: polling for a condition, a promise awaited for so
// long, the pipeline as a process group to signal, and the records it saved.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Kafka, Partitioners, logLevel, type IHeaders } from 'kafkajs'
import { userEnv } from './helpers.js'

/** A kafkajs client of the test broker(s) ("host:port" or "h1:p1,h2:p2"). */
export function client (brokers: string): Kafka {
  return new Kafka({ clientId: 'dstream-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING })
}

let made = 0
/** A topic or group name no other test, file or run uses: PREFIX-PID-MS-N. */
export function uniqueName (prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${++made}`
}

/**
 * Creates the topic and waits until every partition has a leader; gives its name.
 * (kafkajs's own wait, waitForLeaders, sometimes gives up with
 * UNKNOWN_TOPIC_OR_PARTITION while a busy broker spreads the new topic's metadata:
 * the metadata is polled here instead, for up to `timeout` ms.)
 */
export async function createTopic (brokers: string, topic: string, partitions = 1, { timeout = 30_000 }: { timeout?: number } = {}): Promise<string> {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false })
    const deadline = Date.now() + timeout
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
        const ps = topics[0]?.partitions ?? []
        if (ps.length === partitions && ps.every(p => p.leader >= 0)) break
      } catch (err) {
        if (Date.now() > deadline) throw err
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic}: no leader for all ${partitions} partitions after ${timeout}ms`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  } finally {
    await admin.disconnect()
  }
  return topic
}

/** Deletes topics, quietly (for teardown: a topic that is gone already is fine). */
export async function deleteTopics (brokers: string, topics: string[]): Promise<void> {
  if (topics.length === 0) return
  const admin = client(brokers).admin()
  try {
    await admin.connect()
    await admin.deleteTopics({ topics, timeout: 10_000 })
  } catch {
    // best effort
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

export interface Outgoing {
  value: string | null
  key?: string | null
  /** where it goes; otherwise the default (murmur2 of the key) partitioner decides */
  partition?: number
  headers?: IHeaders
}

/**
 * Produces the messages, acknowledged by the broker when this resolves; with
 * `transactional`, all of them in one committed transaction (or aborted, with
 * `abort`: read_committed readers never see them). The producer is idempotent
 * either way: kafkajs retries a whole request when one of its partitions failed
 * (as a topic just made may answer), and a plain producer would then write the
 * other partitions' messages twice.
 */
export async function produce (brokers: string, topic: string, messages: Outgoing[], { transactional = false, abort = false }: { transactional?: boolean, abort?: boolean } = {}): Promise<void> {
  const kafka = client(brokers)
  const producer = transactional
    ? kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, transactionalId: uniqueName(`tx-${topic}`), idempotent: true, maxInFlightRequests: 1 })
    : kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    if (!transactional) {
      await producer.send({ topic, acks: -1, messages })
      return
    }
    const tx = await producer.transaction()
    try {
      await tx.send({ topic, acks: -1, messages })
    } catch (err) {
      await tx.abort().catch(() => {})
      throw err
    }
    if (abort) await tx.abort()
    else await tx.commit()
  } finally {
    await producer.disconnect()
  }
}

export interface PartitionEnds { partition: number, low: number, high: number }

/** The low and end offsets of every partition, by partition; the end is the last stable offset (read_committed). */
export async function topicEnds (brokers: string, topic: string): Promise<PartitionEnds[]> {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.map(p => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })).sort((a, b) => a.partition - b.partition)
  } finally {
    await admin.disconnect()
  }
}

export interface Incoming {
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: Record<string, string | string[]>
  timestamp: number
}

/**
 * Every message of the topic that is committed now (read_committed: nothing of
 * open or aborted transactions), from the low offsets to the end offsets it has
 * when called, in partition and offset order. Rejects after `timeout` ms if the
 * reader does not get there.
 */
export async function readTopic (brokers: string, topic: string, { timeout = 60_000 }: { timeout?: number } = {}): Promise<Incoming[]> {
  const ends = await topicEnds(brokers, topic)
  const pending = new Map(ends.filter(e => e.high > e.low).map(e => [e.partition, e.high]))
  if (pending.size === 0) return []
  const consumer = client(brokers).consumer({ groupId: uniqueName(`reader-${topic}`), readUncommitted: false, maxWaitTimeInMs: 250 })
  const seen: Incoming[] = []
  const positions = new Map<number, number>()
  let finish!: () => void
  const finished = new Promise<void>(resolve => { finish = resolve })
  const check = () => {
    for (const [partition, high] of pending) if ((positions.get(partition) ?? -1) >= high) pending.delete(partition)
    if (pending.size === 0) finish()
  }
  // where each partition's reading is: a fetch of control records only (a commit
  // marker) never reaches eachBatch, but moves the position all the same
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.lastOffset == null) return
    const next = Number(payload.lastOffset) + 1
    if (next > (positions.get(payload.partition) ?? -1)) positions.set(payload.partition, next)
    check()
  })
  await consumer.connect()
  let timer: NodeJS.Timeout | undefined
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset)
        if (offset >= (ends.find(e => e.partition === partition)?.high ?? Infinity)) return
        const headers: Record<string, string | string[]> = {}
        for (const [name, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[name] = Array.isArray(v) ? v.map(x => x.toString()) : v.toString()
        }
        seen.push({ partition, offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers, timestamp: Number(message.timestamp) })
      }
    })
    await Promise.race([finished, new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`reading ${topic}: still short of the end offsets after ${timeout}ms (${[...pending].map(([p, high]) => `partition ${p}: at ${positions.get(p) ?? 'nothing'} of ${high}`).join(', ')})`)), timeout)
    })])
  } finally {
    clearTimeout(timer)
    await consumer.disconnect().catch(() => {})
  }
  return seen.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** The offsets a consumer group has committed for the topic, by partition (-1: none). */
export async function groupOffsets (brokers: string, group: string, topic: string): Promise<Map<number, number>> {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
    return new Map((fetched?.partitions ?? []).map(p => [p.partition, Number(p.offset)]))
  } finally {
    await admin.disconnect()
  }
}

/** How far the group is behind the topic's end offsets, per partition and in all (a partition with no committed offset counts from its low offset). */
export async function groupLag (brokers: string, group: string, topic: string): Promise<{ total: number, partitions: Map<number, number> }> {
  const [ends, committed] = await Promise.all([topicEnds(brokers, topic), groupOffsets(brokers, group, topic)])
  const partitions = new Map<number, number>()
  let total = 0
  for (const { partition, low, high } of ends) {
    const at = committed.get(partition) ?? -1
    const lag = high - (at < 0 ? low : at)
    partitions.set(partition, lag)
    total += lag
  }
  return { total, partitions }
}

/**
 * Polls `probe` until `done` holds for what it gives (every `every` ms, at most
 * `ms`); gives the last value either way, so the test can assert on it and show it.
 * For a condition: `pollFor(() => cond, ok => ok, { ms })` gives whether it came to hold.
 */
export async function pollFor<T> (probe: () => T | Promise<T>, done: (value: T) => boolean, { ms = 15_000, every = 250 }: { ms?: number, every?: number } = {}): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (done(value) || Date.now() >= deadline) return value
    await new Promise(resolve => setTimeout(resolve, every))
  }
}

/** The promise's value, or `otherwise` after `ms` (the timer does not outlive the race). */
export async function within<T, U> (promise: Promise<T>, ms: number, otherwise: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<U>(resolve => { timer = setTimeout(() => resolve(otherwise), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** A shell pipeline started by `pipeline`. */
export interface Pipeline {
  stderr(): string
  /** stderr, each piece with the time it came (to keep for a look when a test fails) */
  timed(): string
  /** resolves with the exit code */
  closed: Promise<number | null>
  running(): boolean
  /** resolves once `pattern` shows on stderr; rejects after `ms` or when the pipeline exits first */
  waitFor(pattern: RegExp, ms: number): Promise<void>
  /** a signal to the pipeline's process group */
  signal(signal: NodeJS.Signals): void
}

/**
 * A shell pipeline in a process group of its own, so a signal reaches every command.
 * Stopped with SIGINT (Ctrl-C): bash waits for the pipeline, which stops gracefully,
 * and exits with its status (SIGTERM would kill the waiting bash itself). Its stdout
 * is read and dropped: the pipelines end in `dstream save`.
 */
export function pipeline (script: string, env: NodeJS.ProcessEnv): Pipeline {
  const child = spawn('bash', ['-o', 'pipefail', '-c', `unset NODE_OPTIONS; ${script}`], { env: userEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let timed = ''
  let done = false
  const waiters = new Set<() => void>()
  child.stdout!.resume()
  child.stderr!.on('data', d => { stderr += d; timed += `${new Date().toISOString()} ${d}`; for (const w of waiters) w() })
  const closed = new Promise<number | null>(resolve => child.on('close', code => { done = true; for (const w of waiters) w(); resolve(code) }))
  return {
    stderr: () => stderr,
    timed: () => timed,
    closed,
    running: () => !done,
    waitFor (pattern, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${pattern} on stderr after ${ms} ms; stderr:\n${stderr}`)) }, ms)
        const check = () => {
          if (pattern.test(stderr)) { clearTimeout(timer); waiters.delete(check); resolve() } else if (done) { clearTimeout(timer); waiters.delete(check); reject(new Error(`exited without ${pattern} on stderr; stderr:\n${stderr}`)) }
        }
        waiters.add(check)
        check()
      })
    },
    signal (signal) {
      try { process.kill(-child.pid!, signal) } catch { /* gone already */ }
    }
  }
}

/** Every record `dstream save DIR/b` wrote under `dir` (files b-TIME, one record a line), in batch order. */
export function saved (dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const files = fs.readdirSync(dir).filter(f => /^b-\d+$/.test(f)).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
  return files.flatMap(f => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
}
