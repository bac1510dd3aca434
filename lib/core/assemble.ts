// Chunks back into batches (SPEC §1), with the order checks every reader makes:
// batch times strictly increase, and the chunks of one batch share its time.
import type { Chunk } from './types.js'

export interface Batch {
  time: number
  interval: number
  records: unknown[]
  extra?: Record<string, unknown>
}

export class Assembler {
  /** the time of the last closed batch */
  last: number | undefined
  private open: { time: number, interval: number, parts: unknown[][], extra?: Record<string, unknown> } | undefined

  /** Why this chunk breaks the order, or undefined when it is in order. */
  check (chunk: Chunk): string | undefined {
    if (this.open !== undefined) {
      if (chunk.time !== this.open.time) return `chunk of batch ${chunk.time} inside batch ${this.open.time}, whose last chunk (without "more") never came`
    } else if (this.last !== undefined && chunk.time <= this.last) {
      return `batch time goes backwards: ${chunk.time} after ${this.last} (batch times must strictly increase)`
    }
    return undefined
  }

  /** Takes an in-order chunk; returns the whole batch when this chunk closes it. */
  push (chunk: Chunk): Batch | undefined {
    if (!chunk.more && this.open === undefined) {
      this.last = chunk.time
      return chunk.extra ? { time: chunk.time, interval: chunk.interval, records: chunk.records, extra: chunk.extra } : { time: chunk.time, interval: chunk.interval, records: chunk.records }
    }
    const open = this.open ??= { time: chunk.time, interval: chunk.interval, parts: [] }
    open.parts.push(chunk.records)
    if (chunk.extra) open.extra = { ...open.extra, ...chunk.extra }
    if (chunk.more) return undefined
    return this.close()
  }

  /** Marks a chunk-wise operator's position without keeping records. */
  track (chunk: Chunk): void {
    if (chunk.more) this.open ??= { time: chunk.time, interval: chunk.interval, parts: [] }
    else { this.open = undefined; this.last = chunk.time }
  }

  /** The batch left open at end of input, if any. */
  get pending (): number | undefined { return this.open?.time }

  close (): Batch | undefined {
    const open = this.open
    if (!open) return undefined
    this.open = undefined
    this.last = open.time
    const records = open.parts.length === 1 ? open.parts[0] : ([] as unknown[]).concat(...open.parts)
    return open.extra ? { time: open.time, interval: open.interval, records, extra: open.extra } : { time: open.time, interval: open.interval, records }
  }
}
