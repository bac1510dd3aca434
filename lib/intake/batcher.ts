// Processing-time batches for sources (SPEC §1): records go to the batch whose
// interval is open when they arrive; batch times are interval ends aligned to the
// epoch; every interval closes a batch, empty or not; while an interval is open,
// every `chunkSize` records leave as a chunk with `more`.
import { batchTimeOf } from '../core/wire.js'
import type { SourceIO } from '../core/types.js'

export class Batcher {
  private openTime: number
  private pending: unknown[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor (
    private readonly interval: number,
    private readonly chunkSize: number,
    private readonly io: Pick<SourceIO, 'emit'>,
    private readonly clock: () => number = Date.now
  ) {
    this.openTime = batchTimeOf(clock(), interval)
    this.schedule()
  }

  /** The time of the open batch. */
  get time (): number { return this.openTime }

  /**
   * Adds a record to the open batch; returns a promise when the consumer asks to wait.
   * After close() (a graceful stop while input still flows) records belong to no batch:
   * the last one is closed, and a chunk of it now would break the order downstream.
   */
  push (record: unknown): void | Promise<void> {
    if (this.closed) return
    this.pending.push(record)
    if (this.pending.length >= this.chunkSize) {
      const late = this.catchUp()
      if (late) return late
      return this.flush(true)
    }
  }

  /** Closes the open batch and stops (end of input, graceful stop). */
  close (): void | Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.timer)
    return this.flush(false)
  }

  private flush (more: boolean): void | Promise<void> {
    const records = this.pending
    this.pending = []
    return this.io.emit(more ? { time: this.openTime, interval: this.interval, records, more } : { time: this.openTime, interval: this.interval, records })
  }

  /** Closes every batch whose interval has ended by now, the empty ones too (the timer calls it). */
  catchUp (): void | Promise<void> {
    let wait: void | Promise<void> = undefined
    const now = this.clock()
    while (!this.closed && this.openTime <= now) {
      wait = this.flush(false) ?? wait
      this.openTime += this.interval
    }
    return wait
  }

  private schedule (): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.catchUp()
      this.schedule()
    }, Math.max(0, this.openTime - this.clock()))
  }
}
