// The batches of the kafka source: Spark's DirectKafkaInputDStream. At each batch
// time the source asks the brokers for the end offsets of the partitions that are
// this instance's (the last stable offsets: open transactions are not read into),
// takes from each partition the records from where it is up to that end, at most
// --max-rate-per-partition per second of interval, logs those offset ranges in the
// state directory (synced) and only then reads the records and emits the batch,
// with its ranges as `offsets` on the batch line (Spark's HasOffsetRanges).
//
// Once the pipeline's sinks have committed a batch (lib/durability/pipeline.ts), its offsets go
// to the offset store (the group's offsets in Kafka, or Redis). Started again, the
// source emits again, with the same times and ranges, the batches logged after the
// pipeline's restart point, then goes on where its log ends. (The ranges are not
// trimmed by what the store holds: this instance may have stored a batch's offsets
// before a sink that registered late had it, and that sink must get it again.)
//
// When to-kafka is the pipeline's only sink and the offsets are the group's, the
// source does not commit them: it names the group on the batch line, and to-kafka
// commits them in the transaction that writes the batch (Kafka Streams' way), so the
// output and the group's offsets move together. Started again, the source then
// replays the batches to-kafka committed as they were (for the stateful operators
// between; the sink skips them), and those it had not empty: their records are read
// again from the group's offsets, by this instance or by the one their partitions
// went to meanwhile. (Empty, not dropped: the stateful operators roll back to the
// version before the first batch replayed, which must not be one of them.)
import type { Admin, KafkaMessage } from 'kafkajs'
import type { Component } from '../../durability/component.js'
import type { RangeReader } from './reader.js'
import { tpKey, tpOf, type Offsets, type OffsetStore } from './offsetStore.js'
import { membersOf, restartPoint, type Members } from '../../durability/pipeline.js'
import { markerGroup, readMarker } from './marker.js'
import { partitionOfBytes } from './partitioner.js'
import { Serial } from '../../core/serial.js'
import { SourceLog, type LoggedBatch } from '../../durability/sourceLog.js'
import type { Chunk } from '../../core/types.js'
import { batchTimeOf } from '../../core/wire.js'

/** Compact the log once it holds this many batches the store has. */
const COMPACT_AFTER = 200
/** How often the sinks' commits are looked for while batches wait for them. */
const COMMIT_POLL = 200
/** A batch whose records take longer than this to come says so (and again after as long). */
const SLOW_READ = 10000
/** How long a stopping source waits for the offset store to answer a write. */
const STORE_PATIENCE = 5000

/**
 * A progress bar, as the source gives it (lib/intake/progress.ts; this folder does
 * not draw): told how many records are read of how many.
 */
export interface Meter {
  update(done: number, total?: number): void
  stop(): void
}

/** What a wait for the brokers or the store ends with when the source is stopped meanwhile. */
class Stopped extends Error {}

/** Spark's OffsetRange: the records [from, until) of a topic's partition. */
export interface OffsetRange { topic: string, partition: number, from: number, until: number }

/**
 * A batch in the source log: the offset ranges it holds, and the to-kafka sink (its
 * name in the state directory) that commits them, when that is the pipeline's only sink.
 */
interface KafkaBatch extends LoggedBatch { offsets: OffsetRange[], committer?: string }

export interface KafkaBatching {
  topics: string[]
  interval: number
  chunk: number
  /** records per partition per second; undefined: no limit */
  maxRate?: number
  from: 'earliest' | 'latest'
  /** the consumer group, when the offsets are kept in it (then a to-kafka sink may commit them) */
  group?: string
  /**
   * Where the batches come from, on every batch line as "kafka": the brokers, the
   * group and each topic's partition count, for the stateful operators that keep
   * their state per input partition in changelog topics (lib/systems/kafka/changelog.ts)
   */
  origin: KafkaOrigin
  /** --once: the end offsets at start, where reading stops */
  until?: Offsets
  /** a message to a record; undefined when it was bad and set aside */
  record(topic: string, partition: number, message: KafkaMessage, time: number): unknown
  emit(chunk: Chunk): void | Promise<void>
  say(text: string): void
  /**
   * Bounded work to show while it is read, given its total in records: the batches
   * replayed after a restart, and the backlog at start (Backlog, below). Undefined,
   * or a call that gives undefined (stderr is not a terminal): nothing is shown.
   */
  progress?(work: 'replay' | 'backlog', total: number): Meter | undefined
}

interface Ends { low: number, high: number }

/** The "kafka" field of a batch line; keyed: false once a message was not where its key goes. */
export interface KafkaOrigin { brokers: string, group: string, partitions: Record<string, number>, keyed?: false }

export class KafkaBatches {
  private readonly log: SourceLog<KafkaBatch>
  private readonly serial = new Serial()
  /** the next offset to read of each partition that is this instance's */
  private readonly positions = new Map<string, number>()
  /** the partitions the group gave this instance; empty while it rebalances */
  private owned = new Set<string>()
  /** changes whenever `owned` does: a batch cut across a change drops what was revoked */
  private generation = 0
  /** the end of the last range logged, per partition (positions of partitions no longer owned too) */
  private readonly lastUntil = new Map<string, number>()
  /** what the offset store holds, as far as this instance knows */
  private stored: Offsets = new Map()
  /** the last batch whose offsets are in the store */
  private storedUpTo = -Infinity
  /** the last batch emitted: a batch logged but not yet emitted is not committed, sinks or not */
  private emittedUpTo = -Infinity
  private openTime = 0
  /** every message so far is where the default partitioner puts its key (see checkKeyed) */
  private keyed = true
  private timer: NodeJS.Timeout | undefined
  private commitTimer: NodeJS.Timeout | undefined
  private closed = false
  private brokersDown = false
  private storeDown = false
  private readonly finished: Promise<void>
  private finish!: () => void
  /** settles when a stop is asked for: waits for the brokers or the store give up then */
  private readonly stopAsked: Promise<never>
  private askStop!: () => void
  private started = false
  private stopRequested = false
  /** records past the last batch cut, up to the end offsets its partitions had then (undefined while the brokers were not asked) */
  private lastBehind: number | undefined
  /** the bar over the backlog at start: undefined until the first partitions come, null once it is over or not shown */
  private backlog: Backlog | null | undefined

  constructor (component: Component, private readonly admin: Admin, private readonly reader: RangeReader, private readonly store: OffsetStore, private readonly b: KafkaBatching) {
    this.log = new SourceLog<KafkaBatch>(component)
    this.finished = new Promise(resolve => { this.finish = resolve })
    this.stopAsked = new Promise<never>((resolve, reject) => { this.askStop = () => reject(new Stopped()) })
    this.stopAsked.catch(() => {})
  }

  /** A promise, or a Stopped error as soon as a stop is asked for. */
  private orStop<T> (work: Promise<T>): Promise<T> {
    // once running, a stop lets the open batch finish and the commits go on (settle)
    if (this.started) return work
    return Promise.race([work, this.stopAsked])
  }

  /** Resolves when the last batch has left (a stop, or --once at its end). */
  get done (): Promise<void> { return this.finished.then(() => { if (this.failure !== undefined) throw this.failure }) }

  /**
   * Emits again the batches the pipeline has not committed; the live batches begin
   * with start(). False when a stop came first (while the store could not be reached).
   */
  async recover (): Promise<boolean> {
    try {
      await this.replay()
      return true
    } catch (err) {
      if (!(err instanceof Stopped)) throw err
      this.close()
      return false
    }
  }

  private async replay (): Promise<void> {
    this.log.component.prepare()
    this.log.load()
    const point = restartPoint(membersOf(this.log.component.stateDir))
    this.stored = await this.retrying(() => this.store.read(this.b.topics), `read ${this.store.where}`)
    const cursor = (this.log.start.cursor ?? {}) as Record<string, number>
    for (const [key, until] of Object.entries(cursor)) this.lastUntil.set(key, until)
    const { batches } = this.log
    const done = batches.filter(b => b.batch <= point)
    await this.storeUpTo(done)
    const emptied = await this.uncommittedBySink(batches.filter(b => b.batch > point))
    // the log's cursor may hold the ends of those batches (a compaction while they were in flight): each partition goes back to where its first such range began
    const backTo = new Map<string, number>()
    for (const b of emptied) for (const r of b.offsets ?? []) { const key = tpKey(r.topic, r.partition); if (!backTo.has(key)) backTo.set(key, r.from) }
    const again = batches.filter(b => b.batch > point).map(b => emptied.includes(b) ? { ...b, offsets: [] } : b)
    for (const b of [...done, ...again]) for (const r of b.offsets ?? []) this.raise(tpKey(r.topic, r.partition), r.until)
    for (const [key, from] of backTo) if ((this.lastUntil.get(key) ?? -1) > from) this.lastUntil.set(key, from)
    if (emptied.length > 0) this.b.say(`${emptied.length} batch${emptied.length === 1 ? '' : 'es'} to-kafka had not committed (${emptied[0].batch} to ${emptied.at(-1)!.batch}) come again empty: their records are read again from the group's offsets, by whichever instance has their partitions`)
    this.log.rewrite({ cursor: Object.fromEntries(this.lastUntil), after: done.at(-1)?.batch ?? this.log.start.after }, [], again)
    // the replayed batches' offsets go to the store as the sinks commit them, while the
    // group is joined (its leader waits for them before it hands partitions on)
    this.watchCommits()
    if (again.length > 0) this.b.say(`replaying ${again.length} batch${again.length === 1 ? '' : 'es'} the pipeline had not committed (${again[0].batch} to ${again.at(-1)!.batch})`)
    // the records of the batches replayed, of all in their ranges
    const meter = again.length > 0 ? this.b.progress?.('replay', sum(again.flatMap(b => b.offsets ?? []).map(r => r.until - r.from))) : undefined
    let replayed = 0
    try {
      for (const batch of again) await this.emit(batch, meter && ((_key, at, next) => meter.update(replayed += next - at)))
    } finally {
      meter?.stop()
    }
    const last = this.log.lastBatch
    this.openTime = Math.max(batchTimeOf(Date.now(), this.b.interval), last === null ? -Infinity : last + this.b.interval)
  }

  /**
   * Of the batches to replay, those whose offsets a to-kafka sink was to commit and
   * did not (past its marker): nothing holds them, and their partitions may be
   * another instance's by now, which reads them from the group's offsets.
   */
  private async uncommittedBySink (batches: KafkaBatch[]): Promise<KafkaBatch[]> {
    const markers = new Map<string, number>()
    for (const name of new Set(batches.map(b => b.committer).filter(c => c !== undefined))) {
      const group = markerGroup(name, this.log.component.stateDir)
      markers.set(name, await this.retrying(() => readMarker(this.admin, group), `read the marker of to-kafka (group ${group})`))
    }
    return batches.filter(b => b.committer !== undefined && b.batch > markers.get(b.committer)!)
  }

  /**
   * The to-kafka sink that is to commit the next batch's offsets: the pipeline's only
   * sink, when it is a to-kafka and the offsets are the group's; else undefined.
   */
  private committerOf (members: Members): string | undefined {
    if (this.b.group === undefined || members.sinks.length !== 1) return undefined
    const [sink] = members.sinks
    return sink.operator === 'to-kafka' ? sink.name : undefined
  }

  /** Live batches, every interval. */
  start (): void {
    if (this.stopRequested) return this.close() // stopped while the group was being joined
    this.started = true
    this.schedule()
  }

  /** The group is rebalancing: nothing more is cut from the partitions until it has. */
  revoke (): void {
    this.owned = new Set()
    this.generation++
  }

  /** The partitions that are this instance's now; the new ones start where the store says. */
  async assign (partitions: Array<{ topic: string, partition: number }>): Promise<void> {
    const generation = ++this.generation
    const now = new Set(partitions.map(p => tpKey(p.topic, p.partition)))
    for (const key of [...this.positions.keys()]) {
      if (now.has(key)) continue
      this.backlog?.drop(key)
      this.positions.delete(key)
      const { topic, partition } = tpOf(key)
      this.reader.release(topic, partition)
    }
    this.backlogRead() // what was taken away is no longer to read
    this.owned = now
    const fresh = [...now].filter(key => !this.positions.has(key))
    this.b.say(`${partitions.length === 0 ? 'no partitions are this instance\'s' : `reading ${describe(now)}`}`)
    if (fresh.length === 0) return
    const stored = await this.retrying(() => this.store.read(this.b.topics), `read ${this.store.where}`)
    let ends: Map<string, Ends> | undefined
    for (const key of fresh) {
      if (generation !== this.generation) return // rebalanced again meanwhile
      let position = Math.max(stored.get(key) ?? -1, this.lastUntil.get(key) ?? -1)
      if (position < 0) {
        ends ??= await this.retrying(() => this.ends(this.b.topics), 'read the end offsets from the brokers')
        const end = ends.get(key)
        position = end === undefined ? 0 : this.b.from === 'earliest' ? end.low : end.high
      }
      this.positions.set(key, position)
    }
    await this.countBacklog(fresh.map(key => [key, this.positions.get(key)!]))
  }

  /**
   * The partitions just given, into the backlog bar while it lasts: each from where
   * it starts to its end: with --once the end at start, else the end now (asked of the
   * brokers once: if they do not answer, those partitions are not in the bar).
   */
  private async countBacklog (fresh: Array<[key: string, from: number]>): Promise<void> {
    if (this.backlog === undefined) {
      const meter = this.b.progress?.('backlog', 0)
      this.backlog = meter ? new Backlog(meter) : null
    }
    if (this.backlog === null) return
    let ends = this.b.until
    if (!ends) {
      const now = await this.ends([...new Set(fresh.map(([key]) => tpOf(key).topic))]).catch(() => undefined)
      if (!now) return
      ends = new Map([...now].map(([key, end]) => [key, end.high]))
    }
    // (a partition taken away again meanwhile is not this instance's to read)
    for (const [key, from] of fresh) if (this.owned.has(key)) this.backlog?.add(key, from, ends.get(key) ?? 0)
    this.backlogRead()
  }

  /** Records of the backlog read (or passed over): the bar is stopped once all are. */
  private backlogRead (key?: string, next?: number): void {
    if (!this.backlog) return
    if (key !== undefined) this.backlog.read(key, next!)
    if (!this.backlog.report()) return
    this.backlog.stop()
    this.backlog = null
  }

  /** The records behind the end offsets, as of the last batch cut (its metrics' lag). */
  behind (): number | undefined {
    return this.lastBehind
  }

  /** How far this instance's batches go that the store does not hold yet (for the group's hand-over). */
  inFlight (): Map<string, number> {
    const inFlight = new Map<string, number>()
    for (const b of this.log.batches) {
      if (b.batch <= this.storedUpTo) continue
      for (const r of b.offsets ?? []) {
        const key = tpKey(r.topic, r.partition)
        if (r.until > (this.stored.get(key) ?? -1)) inFlight.set(key, Math.max(inFlight.get(key) ?? 0, r.until))
      }
    }
    return inFlight
  }

  /** A graceful stop: the open batch is cut and emitted, then no more. */
  stop (): void {
    this.stopRequested = true
    this.askStop()
    if (!this.started) return // recover() gives up, or start() is never called
    void this.serial.run(async () => {
      if (this.closed) return
      await this.cut()
      this.close()
    })
  }

  /**
   * After the output has ended: waits (a while) for the sinks to commit what was
   * emitted, so the store and the group's lag are true when the process exits.
   */
  async settle (patience = 30000): Promise<void> {
    clearTimeout(this.commitTimer)
    const deadline = Date.now() + patience
    for (;;) {
      // a store that does not answer is not waited for: the next run commits
      const answered = await Promise.race([this.commitCommitted().then(() => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), Math.max(0, Math.min(STORE_PATIENCE, deadline - Date.now()))))])
      if (!answered) {
        this.b.say(`${this.store.where} does not answer: the offsets of the batches up to ${this.log.lastBatch} are committed by the next run`)
        break
      }
      const last = this.log.lastBatch
      if (last === null || this.storedUpTo >= last || Date.now() > deadline) break
      await new Promise(resolve => setTimeout(resolve, COMMIT_POLL))
    }
    this.log.close()
  }

  private close (): void {
    this.closed = true
    this.backlog?.stop() // --once at its end, or stopped early
    this.backlog = null
    clearTimeout(this.timer)
    clearTimeout(this.commitTimer)
    this.finish()
  }

  private schedule (): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      void this.serial.run(async () => {
        while (!this.closed && this.openTime <= Date.now()) await this.cut()
      })?.catch(err => this.fail(err))
      this.schedule()
    }, Math.max(0, this.openTime - Date.now()))
  }

  private failure: unknown
  /** An error in a timer's batch: the source stops, and start()'s caller sees it in `done`. */
  private fail (err: unknown): void {
    this.failure ??= err
    this.close()
  }

  /** The open batch: its ranges decided, logged, then read and emitted. */
  private async cut (): Promise<void> {
    const time = this.openTime
    this.openTime += this.b.interval
    const generation = this.generation
    let mine = [...this.owned].filter(key => this.positions.has(key))
    let ends: Map<string, Ends> | undefined
    if (mine.length > 0) {
      try {
        ends = await this.ends([...new Set(mine.map(key => tpOf(key).topic))])
        if (this.brokersDown) this.b.say('the brokers answer again')
        this.brokersDown = false
      } catch (err) {
        if (!this.brokersDown) this.b.say(`cannot reach the brokers (${(err as Error).message}): batches stay empty until they answer`)
        this.brokersDown = true
      }
    }
    if (generation !== this.generation) mine = mine.filter(key => this.owned.has(key) && this.positions.has(key))
    const ranges: OffsetRange[] = []
    let behind = 0
    for (const key of mine.sort()) {
      const { topic, partition } = tpOf(key)
      let from = this.positions.get(key)!
      let until = from
      const end = ends?.get(key)
      if (end) {
        if (from < end.low) {
          this.b.say(`${topic}/${partition}: offsets ${from} to ${end.low} were deleted (retention) before they were read`)
          from = end.low
        }
        until = Math.max(from, end.high)
        if (this.b.maxRate !== undefined) until = Math.min(until, from + Math.floor(this.b.maxRate * this.b.interval / 1000))
        const stop = this.b.until?.get(key)
        if (stop !== undefined) until = Math.max(from, Math.min(until, stop))
        behind += Math.max(0, end.high - until)
      }
      ranges.push({ topic, partition, from, until })
      this.positions.set(key, until)
      this.raise(key, until)
    }
    if (ends) this.lastBehind = behind
    const committer = this.committerOf(membersOf(this.log.component.stateDir))
    const batch: KafkaBatch = committer === undefined ? { batch: time, interval: this.b.interval, offsets: ranges } : { batch: time, interval: this.b.interval, offsets: ranges, committer }
    this.log.appendBatch(batch)
    await this.emit(batch, (key, _at, next) => this.backlogRead(key, next)).catch(err => {
      // bad input: the batch is taken out of the log again, so that the run after the
      // fix reads it, sinks or no sinks; the chunks of it already emitted are a batch
      // without its last chunk, which every operator drops at the end of its input
      this.log.rewrite(this.log.start, [], this.log.batches.filter(b => b !== batch))
      throw err
    })
    void this.commitCommitted()
    if (this.b.until && this.reachedUntil()) this.close()
  }

  /** --once: every partition of this instance is at the end it had at start. */
  private reachedUntil (): boolean {
    if (this.owned.size === 0) return false
    for (const key of this.owned) if ((this.positions.get(key) ?? -1) < (this.b.until!.get(key) ?? 0)) return false
    return true
  }

  /**
   * Reads a batch's ranges from the brokers (as long as that takes) and emits their
   * records as they come, in chunks, in the order of the ranges; the last chunk carries
   * the ranges. Every partition is fetched at once; only a bounded part of each is held.
   * `read` is told of every take: the partition, and the offsets it went from and to.
   */
  private async emit (batch: KafkaBatch, read?: (key: string, at: number, next: number) => void): Promise<void> {
    const ranges = batch.offsets ?? []
    const { chunk } = this.b
    // since when a take has waited for the brokers (not for the stages downstream)
    let waiting: number | undefined
    const slow = setInterval(() => {
      if (waiting === undefined || Date.now() - waiting < SLOW_READ) return
      const behind = ranges.map(r => `${r.topic}/${r.partition}: ${this.reader.behind(r.topic, r.partition, r.until)}`).filter(s => !s.endsWith(': 0'))
      this.b.say(`batch ${batch.batch}: still waiting for records from the brokers (${behind.join(', ')})`)
    }, SLOW_READ / 2)
    let records: unknown[] = []
    try {
      for (const r of ranges) if (r.until > r.from) this.reader.prefetch(r.topic, r.partition, r.from)
      for (const r of ranges) {
        for (let at = r.from; at < r.until;) {
          waiting = Date.now()
          const { messages, next } = await this.reader.take(r.topic, r.partition, at, r.until)
          waiting = undefined
          for (const message of messages) {
            if (this.keyed) this.checkKeyed(r, message)
            const record = this.b.record(r.topic, r.partition, message, batch.batch)
            if (record !== undefined) records.push(record)
          }
          read?.(tpKey(r.topic, r.partition), at, next)
          at = next
          // full chunks go as soon as there are more records than a chunk: the last one is never empty unless the batch is
          let sent = 0
          // every chunk says where it comes from: a chunk-wise stateful operator keeps it until the last, which has the ranges
          for (; records.length - sent > chunk; sent += chunk) await this.b.emit({ time: batch.batch, interval: batch.interval, records: records.slice(sent, sent + chunk), more: true, extra: { kafka: this.origin() } })
          if (sent > 0) records = records.slice(sent)
        }
      }
    } finally {
      clearInterval(slow)
    }
    // Spark's HasOffsetRanges; and the group, when the sink is to commit them there
    const extra = batch.committer === undefined ? { offsets: ranges, kafka: this.origin() } : { offsets: ranges, group: this.b.group, kafka: this.origin() }
    await this.b.emit({ time: batch.batch, interval: batch.interval, records, extra })
    this.emittedUpTo = batch.batch
  }

  /** "kafka" on the batch lines: where they come from, and whether the topic is keyed (keyed state per input partition needs it). */
  private origin (): KafkaOrigin {
    return this.keyed ? this.b.origin : { ...this.b.origin, keyed: false }
  }

  /**
   * Whether a message is where Kafka's default partitioner puts its key. The first
   * that is not (no key, or a partition chosen otherwise) makes the topic unkeyed for
   * the run: the stateful operators after the source then keep their state per
   * instance, as on one machine, rather than per input partition.
   */
  private checkKeyed (r: OffsetRange, message: KafkaMessage): void {
    if (message.key !== null && partitionOfBytes(message.key, this.b.origin.partitions[r.topic] ?? 0) === r.partition) return
    // not said here: it matters only to a stateful operator after the source, which says it
    this.keyed = false
  }

  private raise (key: string, until: number): void {
    if (until > (this.lastUntil.get(key) ?? -1)) this.lastUntil.set(key, until)
  }

  private watchCommits (): void {
    if (this.closed) return
    this.commitTimer = setTimeout(() => { void this.commitCommitted().finally(() => this.watchCommits()) }, COMMIT_POLL)
  }

  private committing: Promise<void> | undefined
  /** The offsets of the batches the pipeline has committed, into the store (one write at a time). */
  private commitCommitted (): Promise<void> {
    if (this.committing) return this.committing
    const last = this.log.lastBatch
    if (last === null || this.storedUpTo >= last) return Promise.resolve()
    const point = Math.min(this.emittedUpTo, restartPoint(membersOf(this.log.component.stateDir)))
    const committing = this.storeUpTo(this.log.batches.filter(b => b.batch <= point && b.batch > this.storedUpTo))
    this.committing = committing.finally(() => { this.committing = undefined })
    return this.committing
  }

  /**
   * Writes the ends of these batches' ranges to the store; on failure says so and
   * leaves them for the next try. The ends a to-kafka sink committed already (with
   * the batch) are not written again: only noted as stored.
   */
  private async storeUpTo (batches: KafkaBatch[]): Promise<void> {
    if (batches.length === 0) return
    const offsets: Offsets = new Map()
    const bySink: Offsets = new Map()
    for (const b of batches) {
      for (const r of b.offsets ?? []) {
        const key = tpKey(r.topic, r.partition)
        if (r.until <= (this.stored.get(key) ?? -1) || r.until <= Math.max(offsets.get(key) ?? -1, bySink.get(key) ?? -1)) continue
        // (a later range of a partition wins: an earlier one written after it would take the group's offset back)
        if (b.committer === undefined) { offsets.set(key, r.until); bySink.delete(key) } else { bySink.set(key, r.until); offsets.delete(key) }
      }
    }
    for (const [key, offset] of bySink) this.stored.set(key, offset)
    if (offsets.size > 0) {
      try {
        await this.orStop(this.store.write(offsets))
        if (this.storeDown) this.b.say(`${this.store.where}: written again`)
        this.storeDown = false
      } catch (err) {
        if (err instanceof Stopped && !this.started) throw err
        if (!this.storeDown) this.b.say(`cannot write ${this.store.where} (${(err as Error).message}); trying again`)
        this.storeDown = true
        return
      }
      for (const [key, offset] of offsets) this.stored.set(key, offset)
    }
    this.storedUpTo = Math.max(this.storedUpTo, batches.at(-1)!.batch)
    this.compact()
  }

  /** Drops from the log the batches the store holds, once there are many. */
  private compact (): void {
    const kept = this.log.batches.filter(b => b.batch > this.storedUpTo)
    if (this.log.batches.length - kept.length < COMPACT_AFTER) return
    this.log.rewrite({ cursor: Object.fromEntries(this.lastUntil), after: this.storedUpTo }, [], kept)
  }

  /** The low and end (last stable) offsets of every partition of the topics. */
  private async ends (topics: string[]): Promise<Map<string, Ends>> {
    const ends = new Map<string, Ends>()
    for (const topic of topics) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) ends.set(tpKey(topic, p.partition), { low: Number(p.low), high: Number(p.high) })
    }
    return ends
  }

  /** A call to the brokers or the store that must succeed: tried again with backoff, saying so. */
  private async retrying<T> (call: () => Promise<T>, what: string): Promise<T> {
    for (let delay = 500, said = false; ; delay = Math.min(delay * 2, 5000)) {
      try {
        const result = await this.orStop(call())
        if (said) this.b.say(`${what}: done`)
        return result
      } catch (err) {
        if (err instanceof Stopped) throw err
        if (!said) this.b.say(`cannot ${what} (${(err as Error).message}); trying again`)
        said = true
        await this.orStop(new Promise(resolve => setTimeout(resolve, delay)))
      }
    }
  }
}

/** "words/0,1,3" */
function describe (keys: Set<string>): string {
  const byTopic = new Map<string, number[]>()
  for (const key of keys) {
    const { topic, partition } = tpOf(key)
    if (!byTopic.has(topic)) byTopic.set(topic, [])
    byTopic.get(topic)!.push(partition)
  }
  return [...byTopic].map(([topic, ps]) => `${topic}/${ps.sort((a, b) => a - b).join(',')}`).join(' ')
}

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0)

/**
 * The backlog at start, for its bar: each partition this instance reads, from where
 * it started to the end it had (--once: at start; a plain run: when the partition
 * was given). A partition taken away ends where its reading did; records deleted by
 * retention before they were read count as passed. Over once every partition has
 * reached its end: after that a plain run's records are the live stream.
 */
class Backlog {
  private readonly parts = new Map<string, { from: number, until: number, at: number }>()

  constructor (private readonly meter: Meter) {}

  add (key: string, from: number, until: number): void {
    if (!this.parts.has(key)) this.parts.set(key, { from, until: Math.max(from, until), at: from })
  }

  read (key: string, next: number): void {
    const part = this.parts.get(key)
    if (part) part.at = Math.max(part.at, next)
  }

  drop (key: string): void {
    const part = this.parts.get(key)
    if (part) part.until = Math.min(part.until, part.at)
  }

  /** Tells the bar how far the reading is; true once every partition is at its end. */
  report (): boolean {
    let done = 0
    let total = 0
    for (const { from, until, at } of this.parts.values()) {
      total += until - from
      done += Math.min(at, until) - from
    }
    this.meter.update(done, total)
    return this.parts.size > 0 && done >= total
  }

  stop (): void { this.meter.stop() }
}
