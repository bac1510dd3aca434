// Batches by event time (SPEC §2 sources, `--event-time FN --watermark DUR`): a
// record goes to the batch whose interval holds its own timestamp. The watermark
// is the largest timestamp seen minus the allowed lateness; a batch is emitted
// once the watermark has passed its end, and the batches in a gap are emitted
// empty. A record whose batch has already been emitted is late: it is handed to
// `late` (the dead-letter file) instead. At end of input every pending batch goes.
//
// Everything here is a function of the records in the order they came, so a
// replayable source can rebuild the pending batches after a crash: each bucket
// remembers where its first record was read and the state just before it, and
// `resume()` names the earliest such point (lib/intake/replayable.ts re-reads from there).
import { batchTimeOf } from '../core/wire.js'

/** Where a record was read: line `line` of the source log's read number `read`. */
export interface Position { read: number, line: number }

/** The batcher's clock, as JSON. */
export interface EventState {
  /** the largest timestamp seen; null before the first record */
  maxSeen: number | null
  /** the next batch to emit; null until the first one */
  next: number | null
}

/** A point to rebuild the batcher from: re-read from `at` with `state`. */
export interface Resume { at: Position, state: EventState }

export interface EventTimeOptions {
  interval: number
  /** ms of lateness allowed: the watermark trails the largest timestamp by this much */
  lateness: number
  state?: EventState
  /**
   * Where this batcher's input began, and the state it began with (a fresh one: the
   * first position, nothing seen). Until the first batch is emitted, what came before
   * a record decides where the stream starts, so resume points from then go back here.
   */
  origin?: Resume
  emit(time: number, records: unknown[]): void | Promise<void>
  late(record: unknown, timestamp: number, batch: number, at: Position | undefined): void
}

interface Bucket {
  records: unknown[]
  /** where its first record was read, and the clock before that record */
  first?: Resume
}

export class EventTimeBatcher {
  private readonly buckets = new Map<number, Bucket>()
  private maxSeen: number | null
  private next: number | null

  constructor (private readonly o: EventTimeOptions) {
    this.maxSeen = o.state?.maxSeen ?? null
    this.next = o.state?.next ?? null
  }

  /** The batch a record arriving now would be reported against (for messages). */
  get time (): number { return this.next ?? 0 }

  get state (): EventState { return { maxSeen: this.maxSeen, next: this.next } }

  /** Adds a record with its timestamp; emits every batch the watermark has passed. */
  push (record: unknown, timestamp: number, at?: Position): void | Promise<void> {
    const time = batchTimeOf(timestamp, this.o.interval)
    if (this.next !== null && time < this.next) {
      this.o.late(record, timestamp, time, at)
      return
    }
    let bucket = this.buckets.get(time)
    if (!bucket) {
      bucket = { records: [] }
      if (at) bucket.first = { at, state: this.state }
      this.buckets.set(time, bucket)
    }
    bucket.records.push(record)
    if (this.maxSeen === null || timestamp > this.maxSeen) this.maxSeen = timestamp
    return this.release(this.maxSeen - this.o.lateness)
  }

  /** End of input: every pending batch, in order, with the gaps between them. */
  close (): void | Promise<void> {
    if (this.buckets.size === 0) return
    return this.release(Math.max(...this.buckets.keys()))
  }

  /**
   * Where to rebuild from to get the batches still pending: the first record of the
   * earliest-read pending bucket, or `next` (the position after the last record
   * read) when nothing is pending.
   */
  resume (next: Position): Resume {
    let earliest: Resume | undefined
    for (const { first } of this.buckets.values()) {
      if (first && (!earliest || before(first.at, earliest.at))) earliest = first
    }
    // a bucket opened before the first batch was emitted: the first batch was chosen
    // among records read before it, so rebuilding must start where they start
    if (earliest && earliest.state.next === null && this.next !== null && this.o.origin) return this.o.origin
    return earliest ?? { at: next, state: this.state }
  }

  /** Emits the batches that end at or before `watermark`, in order. */
  private release (watermark: number): void | Promise<void> {
    if (this.next === null) {
      // the first batch is the earliest one, once the watermark has passed it: until
      // then a record may still come for an even earlier batch
      if (this.buckets.size === 0) return
      const first = Math.min(...this.buckets.keys())
      if (first > watermark) return
      this.next = first
    }
    if (this.next > watermark) return
    return this.emitUpTo(watermark)
  }

  private async emitUpTo (watermark: number): Promise<void> {
    while (this.next! <= watermark) {
      const time = this.next!
      const bucket = this.buckets.get(time)
      this.buckets.delete(time)
      this.next = time + this.o.interval
      await this.o.emit(time, bucket?.records ?? [])
    }
  }
}

export function before (a: Position, b: Position): boolean {
  return a.read < b.read || (a.read === b.read && a.line < b.line)
}
