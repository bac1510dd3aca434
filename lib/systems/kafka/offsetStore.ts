// Where the kafka source keeps, for its consumer group, the next offset of every
// partition once the pipeline's sinks have committed the batches before it: the
// group's own offsets in Kafka (so `kafka-consumer-groups --describe` shows the
// true lag), or, with --offsets-store redis://HOST:PORT/DB, a Redis hash per topic,
// as Spark users keep them by hand.
//
// Kafka offsets are committed in a small transaction of a producer of our own
// (TxnOffsetCommit) rather than by the group member: a member cannot commit while
// its group rebalances, and that is exactly when the source must commit the batch
// it has in flight before its partitions go to another member (lib/systems/kafka/group.ts).
import type { Admin, Kafka, Producer } from 'kafkajs'
import { UsageError } from '../../core/errors.js'
import { maskUrl } from '../../core/secrets.js'
import { instanceTag, whileRetriable } from './client.js'

/** "topic\u0000partition" → the next offset to read */
export type Offsets = Map<string, number>

export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`
export const tpOf = (key: string) => { const i = key.lastIndexOf('\u0000'); return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) } }

/**
 * The offsets a batch line asks its sink to commit: the ends of its ranges ("offsets")
 * as the offsets of the group it names ("group"). The kafka source names its group
 * there only when to-kafka is the pipeline's only sink (batches.ts); otherwise undefined.
 */
export function sourceOffsets (extra: Record<string, unknown> | undefined): { consumerGroupId: string, topics: Array<{ topic: string, partitions: Array<{ partition: number, offset: string }> }> } | undefined {
  const group = extra?.group
  const ranges = extra?.offsets
  if (typeof group !== 'string' || !Array.isArray(ranges)) return undefined
  // the ranges of several batches (those a window emitted nothing for, then its own): each partition's furthest end
  const ends: Offsets = new Map()
  for (const r of ranges as Array<{ topic?: unknown, partition?: unknown, until?: unknown }>) {
    if (typeof r?.topic !== 'string' || !Number.isInteger(r.partition) || !Number.isInteger(r.until)) continue
    const key = tpKey(r.topic, r.partition as number)
    ends.set(key, Math.max(ends.get(key) ?? -1, r.until as number))
  }
  const topics = new Map<string, Array<{ partition: number, offset: string }>>()
  for (const [key, until] of ends) {
    const { topic, partition } = tpOf(key)
    if (!topics.has(topic)) topics.set(topic, [])
    topics.get(topic)!.push({ partition, offset: String(until) })
  }
  if (topics.size === 0) return undefined
  return { consumerGroupId: group, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) }
}

export interface OffsetStore {
  /** what names it in messages */
  readonly where: string
  read(topics: string[]): Promise<Offsets>
  write(offsets: Offsets): Promise<void>
  close(): Promise<void>
}

class KafkaGroupStore implements OffsetStore {
  readonly where: string
  private producer: Producer | undefined

  constructor (private readonly kafka: Kafka, private readonly admin: Admin, private readonly group: string, private readonly transactionalId: string) {
    this.where = `the offsets of group ${group}`
  }

  async read (topics: string[]): Promise<Offsets> {
    const offsets: Offsets = new Map()
    for (const { topic, partitions } of await whileRetriable(() => this.admin.fetchOffsets({ groupId: this.group, topics }))) {
      for (const { partition, offset } of partitions) if (Number(offset) >= 0) offsets.set(tpKey(topic, partition), Number(offset))
    }
    return offsets
  }

  async write (offsets: Offsets): Promise<void> {
    if (!this.producer) {
      const producer = this.kafka.producer({ transactionalId: this.transactionalId, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      this.producer = producer
    }
    const topics = new Map<string, Array<{ partition: number, offset: string }>>()
    for (const [key, offset] of offsets) {
      const { topic, partition } = tpOf(key)
      if (!topics.has(topic)) topics.set(topic, [])
      topics.get(topic)!.push({ partition, offset: String(offset) })
    }
    const transaction = await this.producer.transaction()
    try {
      await transaction.sendOffsets({ consumerGroupId: this.group, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) })
      await transaction.commit()
    } catch (err) {
      await transaction.abort().catch(() => {})
      throw err
    }
  }

  async close (): Promise<void> {
    await this.producer?.disconnect().catch(() => {})
  }
}

class RedisStore implements OffsetStore {
  readonly where: string

  constructor (private readonly redis: import('ioredis').Redis, private readonly group: string, url: string) {
    this.where = `${maskUrl(url)} (hashes ${this.hash('TOPIC')})`
  }

  /** the hash of a topic's offsets: partition → next offset */
  hash (topic: string): string { return `dstream:offsets:${this.group}:${topic}` }

  async read (topics: string[]): Promise<Offsets> {
    const offsets: Offsets = new Map()
    for (const topic of topics) {
      const hash = await this.redis.hgetall(this.hash(topic))
      for (const [partition, offset] of Object.entries(hash)) offsets.set(tpKey(topic, Number(partition)), Number(offset))
    }
    return offsets
  }

  async write (offsets: Offsets): Promise<void> {
    const multi = this.redis.multi()
    for (const [key, offset] of offsets) {
      const { topic, partition } = tpOf(key)
      multi.hset(this.hash(topic), String(partition), String(offset))
    }
    const results = await multi.exec()
    const failed = results?.find(([err]) => err)
    if (failed) throw failed[0]
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }
}

/**
 * The store --offsets-store names (a redis:// URL), else the group's offsets in
 * Kafka. The transactional id of the Kafka store is unique to this host and state
 * directory, so instances of one pipeline on several machines do not fence each other.
 */
export async function offsetStore (operator: string, url: string | undefined, kafka: Kafka, admin: Admin, group: string, stateDir: string, say: (text: string) => void): Promise<OffsetStore> {
  if (url === undefined) {
    return new KafkaGroupStore(kafka, admin, group, `dstream-kafka.${group}.${instanceTag(stateDir)}`)
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`dstream ${operator}: --offsets-store ${maskUrl(url)}: not a URL (redis://HOST:PORT/DB)`)
  }
  if (parsed.protocol !== 'redis:') throw new UsageError(`dstream ${operator}: --offsets-store ${maskUrl(url)}: only redis://HOST:PORT/DB is known`)
  const { Redis } = await import('ioredis')
  // ioredis retries a lost connection forever, with backoff; a command waits for it
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: times => Math.min(100 * 2 ** times, 5000) })
  const store = new RedisStore(redis, group, url)
  let down = false
  redis.on('error', err => { if (!down) say(`cannot reach ${store.where}: ${(err as Error).message}; trying again`); down = true })
  redis.on('ready', () => { if (down) say(`${store.where}: reached again`); down = false })
  return store
}
