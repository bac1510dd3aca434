// A stage's batches as they pass, measured for its metrics file (recorder.ts): what
// came in and when its last chunk arrived, the time the operator took, what went out
// and when it had gone on. The Stage and the runner call it; it writes one line a
// batch. Timing a call costs a clock read, not an allocation.
import type { Chunk } from '../core/types.js'
import type { Lag } from '../core/types.js'
import type { BatchMetrics, MetricsFile } from './recorder.js'

export class BatchWatch {
  private batch: BatchMetrics | undefined

  constructor (private readonly file: MetricsFile) {}

  /** A chunk in (with the bytes of its line, when it came through a pipe). */
  arrive (chunk: Chunk, bytes?: number): void {
    const b = this.open(chunk.time, chunk.interval)
    b.in = (b.in ?? 0) + chunk.records.length
    if (bytes !== undefined) b.inBytes = (b.inBytes ?? 0) + bytes
    if (!chunk.more) b.arrived = Date.now()
  }

  /** Time the operator took on the open batch (ms). */
  worked (ms: number): void {
    if (this.batch) this.batch.processing = (this.batch.processing ?? 0) + ms
  }


  /** Records going out while the open batch is processed (a window's output may carry another time). */
  output (records: number): void {
    if (this.batch) this.batch.out += records
  }

  /** A source's chunk emitted for its batch. */
  emitted (chunk: Chunk): void {
    this.open(chunk.time, chunk.interval).out += chunk.records.length
  }

  /** The bytes of a line written out (the last stage of a process). */
  wrote (bytes: number): void {
    if (this.batch) this.batch.outBytes = (this.batch.outBytes ?? 0) + bytes
  }

  /** The batch is done and its output has gone on: written to the file. */
  done (extra: { keys?: number, checkpoint?: number, lag?: Lag, source?: boolean } = {}): void {
    const b = this.batch
    if (!b) return
    this.batch = undefined
    b.left = Date.now()
    if (b.processing !== undefined) b.processing = micros(b.processing)
    if (extra.keys !== undefined) b.keys = extra.keys
    if (extra.checkpoint !== undefined) b.checkpoint = micros(extra.checkpoint)
    if (extra.source) {
      b.rate = b.out / (b.interval / 1000)
      if (extra.lag) b.lag = extra.lag
    }
    this.file.write(b)
  }

  private open (time: number, interval: number): BatchMetrics {
    if (this.batch?.time === time) return this.batch
    // a batch that never closed (a source stopped inside it) is not written
    this.batch = { time, interval, out: 0 }
    return this.batch
  }
}

/** ms to the microsecond: the clock's noise below that would only lengthen the file. */
function micros (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
