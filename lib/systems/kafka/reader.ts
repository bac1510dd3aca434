// Reads given offset ranges of Kafka partitions: what the direct approach needs
// (Spark's KafkaRDD), which kafkajs has no call for. kafkajs reads only inside a
// consumer group, so the reader is a consumer in a group of its own (one member:
// every partition is its), never commits, pauses every partition it is not
// asked for, and seeks the others to where they are wanted. Records fetched
// wait in a buffer per partition, up to a bound, then the partition pauses; a
// range is taken from the buffer piece by piece as the records come, so a batch
// of any size is never held whole.
import { randomUUID } from 'node:crypto'
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'

/** Stop fetching ahead for a partition with this many records waiting. */
const AHEAD = 20000
/**
 * A take that has waited this long without a record coming, for records that were
 * there when its batch was cut, is stalled: kafkajs's consumer does not always
 * come back whole from a broker that went away, so the reader starts a new one.
 */
const STALLED = 20000

interface PartitionRead {
  /** the next offset to fetch */
  position: number
  buffer: KafkaMessage[]
  paused: boolean
  /** a take waiting for the position to move, and since when */
  waiting?: { resolve(): void, moved: number }
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class RangeReader {
  private readonly partitions = new Map<string, PartitionRead>()
  /** the partitions of each topic, known once the reader's group is joined */
  private known = new Set<string>()
  private consumer: Consumer
  private renewing = false
  private watchdog: NodeJS.Timeout | undefined

  private constructor (private readonly kafka: Kafka, private readonly topics: string[], private readonly say: (text: string) => void, private readonly group: string) {
    this.consumer = this.create()
  }

  /** A consumer in a group of its own; what it reports counts only while it is the reader's. */
  private create (): Consumer {
    const c = this.kafka.consumer({ groupId: `${this.group}.reader.${randomUUID()}`, maxWaitTimeInMs: 250, sessionTimeout: 10000, heartbeatInterval: 3000, maxBytesPerPartition: 4 << 20, maxBytes: 32 << 20 })
    const mine = () => c === this.consumer
    const { GROUP_JOIN, END_BATCH_PROCESS, CRASH } = c.events
    c.on(GROUP_JOIN, ({ payload }) => { if (mine()) this.joined(payload.memberAssignment) })
    // a fetch of aborted or control records only never reaches eachBatch; the position still moves
    c.on(END_BATCH_PROCESS, ({ payload }) => {
      if (mine() && payload.firstOffset !== null) this.moved(payload.topic, payload.partition, Number(payload.firstOffset), Number(payload.lastOffset) + 1)
    })
    c.on(CRASH, ({ payload }) => {
      if (!mine()) return
      // until it has joined again: what is wanted is sought and paused anew then
      this.known = new Set()
      this.say(`reading ${this.topics.join(', ')}: ${payload.error.message}${payload.restart ? '; trying again' : ''}`)
    })
    return c
  }

  private async begin (c: Consumer): Promise<void> {
    await c.connect()
    await c.subscribe({ topics: this.topics })
    await c.run({ autoCommit: false, eachBatch: async payload => { if (c === this.consumer) await this.fetched(payload) } })
  }

  /** A reader of `topics`, connected and fetching nothing yet. */
  static async start (kafka: Kafka, topics: string[], say: (text: string) => void, group: string): Promise<RangeReader> {
    const reader = new RangeReader(kafka, topics, say, group)
    await reader.begin(reader.consumer)
    reader.watchdog = setInterval(() => reader.checkStalled(), STALLED / 4)
    reader.watchdog.unref()
    return reader
  }

  private checkStalled (): void {
    if (this.renewing) return
    const now = Date.now()
    const stalled = [...this.partitions.values()].some(p => p.waiting && now - p.waiting.moved > STALLED)
    if (!stalled) return
    this.renewing = true
    this.say(`no records for ${STALLED / 1000}s from brokers that have them: reading with a new consumer`)
    const old = this.consumer
    this.known = new Set()
    this.consumer = this.create()
    for (const p of this.partitions.values()) if (p.waiting) p.waiting.moved = now
    old.disconnect().catch(() => {})
    this.begin(this.consumer)
      .catch(err => this.say(`reading ${this.topics.join(', ')}: ${(err as Error).message}; trying again`))
      .finally(() => { this.renewing = false })
  }

  /** Starts fetching a partition from `from`, for a take() to come. */
  prefetch (topic: string, partition: number, from: number): void {
    this.want(topic, partition, from)
  }

  /**
   * The next records of [from, until) of a partition, in offset order (offsets of
   * aborted transactions and control records hold none): those already fetched, or
   * else those of the next fetch, as long as they take to come. `next` is where the
   * following take goes on from; the range is read when it is `until`. Takes of one
   * partition go one after another.
   */
  async take (topic: string, partition: number, from: number, until: number): Promise<{ messages: KafkaMessage[], next: number }> {
    const p = this.want(topic, partition, from)
    if (p.position < until && (p.buffer.length === 0 || Number(p.buffer[0].offset) >= until)) {
      await new Promise<void>(resolve => { p.waiting = { resolve, moved: Date.now() } })
    }
    return { messages: this.takeFrom(p, until), next: Math.min(p.position, until) }
  }

  /** How many records of a partition a take up to `until` still waits for (for messages). */
  behind (topic: string, partition: number, until: number): number {
    const p = this.partitions.get(key(topic, partition))
    return p ? Math.max(0, until - p.position) : until
  }

  /** Stops fetching a partition (it went to another member of the group). */
  release (topic: string, partition: number): void {
    const k = key(topic, partition)
    if (!this.partitions.delete(k)) return
    if (this.known.has(k)) this.control(() => this.consumer.pause([{ topic, partitions: [partition] }]))
  }

  async stop (): Promise<void> {
    clearInterval(this.watchdog)
    await this.consumer.disconnect().catch(() => {})
  }

  private want (topic: string, partition: number, from: number): PartitionRead {
    const k = key(topic, partition)
    let p = this.partitions.get(k)
    if (p && p.position !== from && !(p.buffer.length > 0 && Number(p.buffer[0].offset) <= from && from < p.position)) p = undefined
    if (!p) {
      p = { position: from, buffer: [], paused: false }
      this.partitions.set(k, p)
      if (this.known.has(k)) {
        this.seek(topic, partition, from)
        this.resume(topic, partition, p) // paused while no one wanted it
      }
    } else if (p.paused) {
      this.resume(topic, partition, p)
    }
    // records fetched ahead from before `from` (a replay of part of what was read) are dropped
    while (p.buffer.length > 0 && Number(p.buffer[0].offset) < from) p.buffer.shift()
    return p
  }

  /** Moves the buffered records below `until` out. */
  private takeFrom (p: PartitionRead, until: number): KafkaMessage[] {
    let n = 0
    while (n < p.buffer.length && Number(p.buffer[n].offset) < until) n++
    const out = n === p.buffer.length ? p.buffer : p.buffer.slice(0, n)
    p.buffer = n === p.buffer.length ? [] : p.buffer.slice(n)
    return out
  }

  private joined (assignment: Record<string, number[]>): void {
    this.known = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map(partition => key(topic, partition))))
    const idle: Array<{ topic: string, partitions: number[] }> = []
    for (const [topic, partitions] of Object.entries(assignment)) {
      const paused = partitions.filter(partition => {
        const p = this.partitions.get(key(topic, partition))
        if (p) this.seek(topic, partition, p.position)
        return !p || p.paused
      })
      if (paused.length > 0) idle.push({ topic, partitions: paused })
    }
    if (idle.length > 0) this.control(() => this.consumer.pause(idle))
  }

  private seek (topic: string, partition: number, offset: number): void {
    this.control(() => this.consumer.seek({ topic, partition, offset: String(offset) }))
  }

  private resume (topic: string, partition: number, p: PartitionRead): void {
    p.paused = false
    this.control(() => this.consumer.resume([{ topic, partitions: [partition] }]))
  }

  /**
   * A seek, pause or resume; the consumer may be between a crash and its restart,
   * when kafkajs refuses them: the next join seeks and pauses everything anew.
   */
  private control (call: () => void): void {
    try {
      call()
    } catch { /* applied at the next join (joined()) */ }
  }

  private async fetched ({ batch }: EachBatchPayload): Promise<void> {
    const p = this.partitions.get(key(batch.topic, batch.partition))
    // a fetch from elsewhere than where the partition is (made before a seek) is dropped
    if (!p || Number((batch as typeof batch & { fetchedOffset: string }).fetchedOffset) !== p.position) return
    for (const message of batch.messages) p.buffer.push(message)
    this.moved(batch.topic, batch.partition, p.position, Number(batch.lastOffset()) + 1)
  }

  /** A fetch from `first` on went up to `next`; moves the position when it was from the position. */
  private moved (topic: string, partition: number, first: number, next: number): void {
    const p = this.partitions.get(key(topic, partition))
    if (!p || first !== p.position || next <= p.position) return
    p.position = next
    const w = p.waiting
    if (w) {
      // a waiting take empties the buffer at once: no pause for what it takes
      p.waiting = undefined
      w.resolve()
    } else if (!p.paused && p.buffer.length >= AHEAD) {
      p.paused = true
      this.control(() => this.consumer.pause([{ topic, partitions: [partition] }]))
    }
  }
}
