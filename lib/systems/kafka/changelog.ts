// Keyed state kept per input partition, Kafka Streams' model, for the stateful
// operators of a pipeline that reads a kafka source (update-state-by-key,
// map-with-state, reduce-by-key-and-window, drop-duplicates), so that several
// instances of the pipeline sharing the source's group can each hold the state of
// the partitions they read, and hand it on with them.
//
// A key belongs to the partition Kafka's default partitioner gives its text (a
// string key as it is, any other key as its JSON): the topic must be keyed by the
// state key, which the producer decides (to-kafka --key). A record whose key belongs
// to a partition this instance does not read is refused: the topic is not keyed so.
//
// After each batch the keys whose state changed go to a compacted changelog topic,
// dstream-GROUP-NAME-changelog, into their partition (id → state as JSON, null when
// the key is gone), with, per partition read, the offset the state has taken the
// input up to (the key "\u0000upTo", {"offset":N}, and what else the state says of
// itself then: a window's last end). When to-kafka is the pipeline's only sink they
// ride on the batch line ("changelog") and to-kafka writes them in the transaction
// that writes the batch and commits the source's offsets: state, output and offsets
// move together. Otherwise the operator writes them itself before the batch goes on
// (at least once for the partitions that move, as those sinks are); those of its very
// first batch only once a checkpoint holds them, so that a run killed before it has
// one starts again from a changelog that holds nothing of it. A partition's changes
// are written only with a batch that read it: by the instance the group gave it to.
//
// A partition this instance gets is first restored from the changelog (read
// committed, to its end); one it no longer gets is dropped. A batch's range of a
// partition whose state is past it already (a replayed batch: another instance has
// gone on since) is left out of the state.
import type { Admin, Kafka, Producer } from 'kafkajs'
import { RuntimeError, excerpt } from '../../core/errors.js'
import { kafkaClient } from './client.js'
import { partitionOfKey } from './partitioner.js'
import { RangeReader } from './reader.js'
import type { KafkaOrigin, OffsetRange } from './batches.js'
import type { Instance } from '../../core/types.js'

/** The changelog key of a partition's input offset: no key's id starts so (core/keys.ts: \0 then JSON). */
const UP_TO = '\u0000upTo'
/** How often a restore that finds the changelog behind the group's offsets (an open transaction of a killed instance) looks again. */
const BEHIND_RETRY = 1000
/** Messages per send. */
const SEND_SIZE = 1000

/** What a stateful operator's state is to this module: keys by id, each with a JSON state. */
export interface PartitionedState {
  /** the id (core/keys.ts keyOf) of a record's key; undefined for a record without one (the operator's bad input) */
  idOf(record: unknown): string | undefined
  /** every key held: id → its state, as JSON values */
  entries(): Iterable<[string, unknown]>
  /** removes the keys `gone` holds for */
  drop(gone: (id: string) => boolean): void
  /** adds keys restored from the changelog, each as entries() gave it; `meta`: what meta() said when they were written */
  load(entries: Array<[string, unknown]>, meta: unknown): void
  /** what the keys' states depend on besides themselves (a window's last end), written with each partition's offset */
  meta?(): unknown
}

/** A batch's changelog messages, for the sink's transaction. */
export interface ChangelogMessages { topic: string, messages: Array<{ key: string, value: string | null, partition: number }> }

/** The kafka source's description of a batch, from its line; undefined for a batch from elsewhere. */
function originOf (extra: Record<string, unknown> | undefined): { origin: KafkaOrigin, ranges: OffsetRange[], viaSink: boolean } | undefined {
  const origin = extra?.kafka as KafkaOrigin | undefined
  // a topic not keyed by the default partitioner: the state stays per instance
  if (!origin || typeof origin.group !== 'string' || typeof origin.partitions !== 'object' || origin.keyed === false) return undefined
  const ranges = Array.isArray(extra!.offsets) ? extra!.offsets as OffsetRange[] : []
  return { origin, ranges, viaSink: typeof extra!.group === 'string' }
}

/** The changelog topic of an operator's state: a name Kafka takes (letters, digits, . _ -). */
export function changelogTopic (group: string, name: string): string {
  return `dstream-${group}-${name}-changelog`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 249)
}

/** The key's text, as a producer keys its message: a string key's id is the string; another key's is \0 and its JSON. */
const keyText = (id: string) => id.charCodeAt(0) === 0 ? id.slice(1) : id

export class ChangelogState {
  /** partition → the input offset the state has taken it up to (null: restored from an empty changelog, nothing known) */
  private readonly upTo = new Map<number, number | null>()
  /** id → the state's JSON as the changelog last got it, and the batch it was seen in (to find the keys gone) */
  private readonly logged = new Map<string, { json: string, seen: number }>()
  private readonly partitionCache = new Map<string, number>()
  private seen = 0
  private topic: string | undefined
  private source: string | undefined
  private partitions = 0
  private kafka: Kafka | undefined
  private admin: Admin | undefined
  private reader: RangeReader | undefined
  private producer: Producer | undefined
  /** sinks other than a lone to-kafka: the changes of the first batch, written once a checkpoint holds them */
  private early: ChangelogMessages['messages'] = []
  private checkpointed = false
  private saidUnkeyed = false
  /** the ranges of the batch in hand: its partitions' offsets go to the changelog after it */
  private ranges: Array<{ range: OffsetRange, applied: boolean }> = []
  /** partition → the state's meta() as its changelog last got it, as JSON */
  private readonly metaOf = new Map<number, string | undefined>()

  constructor (private readonly operator: string, private readonly name: string, private readonly state: PartitionedState, private readonly say: (text: string) => void) {}

  /** Whether the state is kept per input partition (a batch of a kafka source has been seen). */
  get active (): boolean { return this.topic !== undefined }

  /**
   * Before a batch: the partitions this instance no longer reads dropped, those it
   * now reads restored, and the records to fold in (those of ranges the state has
   * already taken are left out). A batch from elsewhere is left as it is.
   */
  async before (records: unknown[], time: number, extra: Record<string, unknown> | undefined): Promise<unknown[]> {
    this.ranges = []
    const from = originOf(extra)
    if (!from) {
      if ((extra?.kafka as KafkaOrigin | undefined)?.keyed === false && !this.saidUnkeyed) {
        this.saidUnkeyed = true
        this.say(`batch ${time}: the topic is not keyed (a message without a key, or not where Kafka's default partitioner puts its key): the state is kept per instance, not per input partition; run one instance of this pipeline`)
      }
      return records
    }
    await this.flush()
    const first = !this.active
    await this.open(from.origin, time)
    const ranges = from.ranges
    // a batch cut while the group rebalances reads no partition: it changes nothing
    if (ranges.length === 0) return records
    const owned = new Set(ranges.map(r => r.partition))
    // the first batch of a fresh state: of the keys given (--initial), this instance keeps its partitions'
    if (first && this.upTo.size === 0) this.state.drop(id => !owned.has(this.partitionOf(id)))
    for (const p of [...this.upTo.keys()]) if (!owned.has(p)) this.dropPartition(p)
    const skip = new Set<number>()
    for (const r of ranges) {
      const had = this.upTo.get(r.partition)
      // held, but another instance has read the partition on since: its state is the changelog's
      if (had !== undefined && had !== null && r.from > had) this.dropPartition(r.partition, `is behind (its input up to offset ${had}, the batch's from ${r.from}: another instance read it meanwhile)`)
      if (!this.upTo.has(r.partition)) await this.restore(r.partition, r, from.viaSink, time)
      const at = this.upTo.get(r.partition)!
      const taken = at !== null && r.until <= at && r.until > r.from
      this.ranges.push({ range: r, applied: r.until > r.from && !taken })
      if (taken) skip.add(r.partition)
      if (r.until === r.from || taken) continue
      if (at !== null && at !== r.from) this.say(`batch ${time}: the state of ${this.source}/${r.partition} has its input up to offset ${at}, the batch goes from ${r.from} to ${r.until}: ${at < r.from ? 'the records between are not in it' : 'the records before ' + at + ' are counted twice'} (at least once, as the sinks other than a lone to-kafka are)`)
    }
    // the records are copied only when a range is left out (a replay)
    const kept: unknown[] | undefined = skip.size > 0 ? [] : undefined
    for (const record of records) {
      const id = this.state.idOf(record)
      if (id === undefined) { kept?.push(record); continue }
      const p = this.partitionOf(id)
      if (!owned.has(p)) throw new RuntimeError(`dstream ${this.operator}: batch ${time}: the key ${excerpt(keyText(id))} belongs to partition ${p} of ${this.source} (Kafka's default partitioner over ${this.partitions}), which this instance does not read (${[...owned].sort((a, b) => a - b).join(', ')}): the state is kept per input partition, so the topic must be keyed by the state key (to-kafka --key, or the producer's key)`)
      if (kept && !skip.has(p)) kept.push(record)
    }
    return kept ?? records
  }

  /**
   * After a batch: what changed in the state, and the offsets it has taken. Given
   * back for the sink's transaction when to-kafka is the only sink; else written
   * here, before the batch goes on.
   */
  async after (extra: Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined> {
    const from = originOf(extra)
    if (!from || !this.topic) return extra
    const messages: ChangelogMessages['messages'] = []
    const seen = ++this.seen
    // the keys of the partitions this batch read (a batch cut while the group rebalances reads none)
    const reading = new Set(this.ranges.map(r => r.range.partition))
    for (const [id, value] of this.state.entries()) {
      const had = this.logged.get(id)
      if (had !== undefined) had.seen = seen
      const partition = this.partitionOf(id)
      if (!reading.has(partition)) continue
      const json = JSON.stringify(value)
      if (had !== undefined) {
        if (had.json === json) continue
        had.json = json
      } else this.logged.set(id, { json, seen })
      messages.push({ key: id, value: json, partition })
    }
    for (const [id, had] of this.logged) {
      if (had.seen === seen || !reading.has(this.partitionOf(id))) continue
      this.logged.delete(id)
      messages.push({ key: id, value: null, partition: this.partitionOf(id) })
    }
    // each partition read: the offset its state has taken the input up to, when it moved or the state's meta changed
    const meta = this.state.meta?.()
    const metaJson = meta === undefined ? undefined : JSON.stringify(meta)
    for (const { range: r, applied } of this.ranges) {
      if (!applied && this.metaOf.get(r.partition) === metaJson) continue
      const offset = applied ? r.until : this.upTo.get(r.partition) ?? r.from
      this.upTo.set(r.partition, offset)
      this.metaOf.set(r.partition, metaJson)
      messages.push({ key: UP_TO, value: JSON.stringify(meta === undefined ? { offset } : { offset, meta }), partition: r.partition })
    }
    this.ranges = []
    if (from.viaSink) {
      // (with what the first batch left to write, when the sinks were others then)
      const all = this.early.length > 0 ? [...this.early, ...messages] : messages
      this.early = []
      if (all.length === 0) return extra
      const earlier = Array.isArray(extra!.changelog) ? extra!.changelog as ChangelogMessages[] : []
      return { ...extra, changelog: [...earlier, { topic: this.topic, messages: all }] }
    }
    if (!this.checkpointed) for (const m of messages) this.early.push(m)
    else if (messages.length > 0) await this.write(messages)
    return extra
  }

  /** The partitions' offsets, for the operator's checkpoint beside its state (which then holds the first batch's changes). */
  offsets (): Array<[number, number | null]> {
    this.checkpointed = true
    return [...this.upTo]
  }

  /** Back to a checkpoint: its partitions and offsets; the changelog holds the state as it is then, or later. */
  restoreOffsets (offsets: Array<[number, number | null]>): void {
    this.checkpointed = true
    this.upTo.clear()
    for (const [p, at] of offsets) this.upTo.set(p, at)
    this.logged.clear()
    for (const [id, value] of this.state.entries()) this.logged.set(id, { json: JSON.stringify(value), seen: this.seen })
  }

  /** End of input: the first batch's changes, if it was the last, are written (the Stage checkpoints before it ends). */
  async close (): Promise<void> {
    await this.flush().catch(err => this.say(`cannot write the changelog ${this.topic}: ${(err as Error).message}`))
    await Promise.all([this.reader?.stop(), this.producer?.disconnect(), this.admin?.disconnect()].map(p => p?.catch(() => {})))
  }

  private partitionOf (id: string): number {
    let p = this.partitionCache.get(id)
    if (p === undefined) {
      p = partitionOfKey(keyText(id), this.partitions)
      this.partitionCache.set(id, p)
    }
    return p
  }

  private dropPartition (p: number, why = 'is another instance\'s now'): void {
    this.state.drop(id => this.partitionOf(id) === p)
    for (const [id] of this.logged) if (this.partitionOf(id) === p) this.logged.delete(id)
    for (const [id, of] of this.partitionCache) if (of === p) this.partitionCache.delete(id)
    this.upTo.delete(p)
    this.metaOf.delete(p)
    this.say(`the state of ${this.source}/${p} ${why}: dropped`)
  }

  /** The changelog topic, made the first time (compacted, one partition per input partition). */
  private async open (origin: KafkaOrigin, time: number): Promise<void> {
    const topics = Object.keys(origin.partitions)
    if (this.topic !== undefined) return
    if (topics.length !== 1) throw new RuntimeError(`dstream ${this.operator}: batch ${time}: the kafka source reads ${topics.length} topics (${topics.join(', ')}); state kept per input partition needs one`)
    this.source = topics[0]
    this.partitions = origin.partitions[this.source]
    const topic = changelogTopic(origin.group, this.name)
    this.kafka = await kafkaClient(this.operator, origin.brokers)
    this.admin = this.kafka.admin()
    try {
      await this.admin.connect()
      await this.admin.createTopics({ topics: [{ topic, numPartitions: this.partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
      const { topics: [found] } = await this.admin.fetchTopicMetadata({ topics: [topic] })
      if (found.partitions.length !== this.partitions) throw new Error(`the changelog topic ${topic} has ${found.partitions.length} partitions, the input ${this.source} ${this.partitions}: they must be as many (was the input's count changed?)`)
    } catch (err) {
      throw new RuntimeError(`dstream ${this.operator}: batch ${time}: cannot make the changelog topic ${topic}: ${(err as Error).message}`)
    }
    this.topic = topic
  }

  /**
   * A partition this instance now reads: its keys from the changelog, to its end
   * (read committed). When to-kafka commits the changelog with the offsets, the two
   * agree; a changelog behind the batch's start is an open transaction of an
   * instance killed meanwhile, which the brokers abort: it is read again until then.
   */
  private async restore (p: number, range: OffsetRange, viaSink: boolean, time: number): Promise<void> {
    const started = Date.now()
    for (let said = 0; ; ) {
      const { entries, upTo, meta, count } = await this.readPartition(p)
      const behind = viaSink && upTo !== null && upTo < range.from
      if (!behind || Date.now() - started > 5 * 60_000) {
        this.state.load(entries.map(([id, json]) => [id, JSON.parse(json)]), meta)
        for (const [id, json] of entries) this.logged.set(id, { json, seen: this.seen })
        this.upTo.set(p, upTo)
        this.metaOf.set(p, meta === undefined ? undefined : JSON.stringify(meta))
        if (count > 0) this.say(`batch ${time}: the state of ${this.source}/${p} restored from ${this.topic}: ${entries.length} keys, ${count} messages read in ${Date.now() - started} ms`)
        return
      }
      if (Date.now() - started >= said) {
        this.say(`batch ${time}: the changelog of ${this.source}/${p} ends at input offset ${upTo}, the group's is ${range.from}: waiting for the transaction of an instance that stopped to be aborted`)
        said += 10_000
      }
      await new Promise(resolve => setTimeout(resolve, BEHIND_RETRY))
    }
  }

  private async readPartition (p: number): Promise<{ entries: Array<[string, string]>, upTo: number | null, meta: unknown, count: number }> {
    const topic = this.topic!
    this.reader ??= await RangeReader.start(this.kafka!, [topic], text => this.say(text), topic)
    const ends = await this.admin!.fetchTopicOffsets(topic)
    const end = ends.find(e => e.partition === p)
    const low = Number(end?.low ?? 0)
    const high = Number(end?.high ?? 0)
    const entries = new Map<string, string>()
    let upTo: number | null = null
    let meta: unknown
    let count = 0
    this.reader.prefetch(topic, p, low)
    for (let at = low; at < high;) {
      const { messages, next } = await this.reader.take(topic, p, at, high)
      for (const m of messages) {
        count++
        const key = m.key?.toString() ?? ''
        const value = m.value === null ? null : m.value.toString()
        if (key === UP_TO) ({ offset: upTo, meta } = value === null ? { offset: null, meta: undefined } : JSON.parse(value))
        else if (value === null) entries.delete(key)
        else entries.set(key, value)
      }
      at = next
    }
    this.reader.release(topic, p)
    return { entries: [...entries], upTo, meta, count }
  }

  /** Writes the first batch's changes, once a checkpoint holds them. */
  private async flush (): Promise<void> {
    if (!this.checkpointed || this.early.length === 0) return
    await this.write(this.early)
    this.early = []
  }

  private async write (messages: ChangelogMessages['messages']): Promise<void> {
    if (!this.producer) {
      this.producer = this.kafka!.producer({ idempotent: true, maxInFlightRequests: 1 })
      await this.producer.connect()
    }
    for (let i = 0; i < messages.length; i += SEND_SIZE) await this.producer.send({ topic: this.topic!, acks: -1, messages: messages.slice(i, i + SEND_SIZE) })
  }
}

/** A checkpoint of state kept per input partition: the partitions' offsets beside the operator's own snapshot. */
interface PartitionedSnapshot { kafkaPartitions: Array<[number, number | null]>, state: unknown }

const isPartitioned = (saved: unknown): saved is PartitionedSnapshot =>
  typeof saved === 'object' && saved !== null && !Array.isArray(saved) && Array.isArray((saved as PartitionedSnapshot).kafkaPartitions) && 'state' in saved

/**
 * A stateful operator's instance, its state kept per input partition when its batches
 * come from a kafka source (a batch line with "kafka"): the changelog around each
 * batch, and the partitions' offsets in its checkpoints. Batches from elsewhere go
 * to the operator as they are.
 */
export function perInputPartition (operator: string, name: string, stderr: (text: string) => void, state: PartitionedState, inner: Instance): Instance {
  const log = new ChangelogState(operator, name, state, text => stderr(`dstream ${operator}: ${text}\n`))
  // a chunk-wise operator (a window's fold) is given a batch of a kafka source whole:
  // which of its records it takes is known at its last chunk, which has the ranges
  let held: unknown[] = []
  return {
    ...inner,
    onBatch (records, batch, others) {
      if (batch.extra?.kafka === undefined) return inner.onBatch(records, batch, others)
      if (batch.more) {
        for (const record of records) held.push(record)
        return []
      }
      const whole = held.length === 0 ? records : held.concat(records)
      held = []
      return (async () => {
        const kept = await log.before(whole, batch.time, batch.extra)
        const out = await inner.onBatch(kept, batch, others)
        batch.extra = await log.after(batch.extra)
        return out
      })()
    },
    snapshot: () => log.active ? { kafkaPartitions: log.offsets(), state: inner.snapshot!() } : inner.snapshot!(),
    restore (saved) {
      if (!isPartitioned(saved)) return inner.restore!(saved)
      inner.restore!(saved.state)
      log.restoreOffsets(saved.kafkaPartitions)
    },
    async onEnd () {
      await inner.onEnd?.()
      await log.close()
    },
    async onAbort () {
      await inner.onAbort?.()
      await log.close()
    }
  }
}

/** The changelog messages a batch line carries for the sink's transaction (to-kafka), if any. */
export function changelogOf (extra: Record<string, unknown> | undefined): ChangelogMessages[] {
  const logs = extra?.changelog
  if (!Array.isArray(logs)) return []
  return logs.filter((c): c is ChangelogMessages => typeof c?.topic === 'string' && Array.isArray(c.messages))
}

/** What the stateful operators' --help says of their state from a kafka source. */
export const PER_INPUT_PARTITION_TEXT = `
From a kafka source (its batch lines carry "kafka"), the state is kept per input
partition, Kafka Streams' way, so that instances of the pipeline sharing the
source's group (on one machine or several) each hold the state of the partitions
they read. A key belongs to the partition Kafka's default partitioner gives its
text (a string key as it is, another key as its JSON): the topic must be keyed by
the state key (to-kafka --key, or the producer's key); a key of a partition the
instance does not read stops it (exit 1), and the source must read one topic. A
topic whose messages are not where the default partitioner puts their keys (no key,
or a partition chosen otherwise: the source says so on its lines, "keyed":false)
keeps the state per instance, as before, which the operator says: run one instance
of such a pipeline. The
changes of each batch go to the compacted topic dstream-GROUP-NAME-changelog, with
each partition's offset: in to-kafka's transaction when it is the pipeline's only
sink (state, output and the group's offsets move together: exactly once), else
written by the operator before the batch goes on (at least once, as the other sinks
are). A partition the instance is given is restored from the changelog before its
records are taken (its time grows with the partition's keys: see README, "Many
machines"); one taken away is dropped. --partitions N (threads) is refused there.`
