// Structured Streaming's event-time watermark (Dataset.withWatermark), for the
// operators that keep state by the records' own time (the event-time group): the
// largest event time seen in earlier batches minus the delay, and it never moves
// back. As in Spark, a batch is judged by the watermark the batches before it set:
// `current` holds still while a batch is processed, and `advance()` after the batch
// moves it on (Spark computes it at the end of a micro-batch and uses it from the
// next one). Which time a record is judged by (its own, its window's end, its time
// plus a join's bound) is the operator's to say.
import { parseDuration, toMillis } from '../core/durations.js'
import { UsageError, excerpt, usage } from '../core/errors.js'
import { compileFunction } from '../core/functions.js'
import { SKIP, type Context, type OperatorDefinition, type OptionSpec } from '../core/types.js'

export const EVENT_TIME_OPTION: Record<string, OptionSpec> = {
  'event-time': { type: 'string', meta: 'FN', describe: "the record's event time: FN gives ms since the epoch, a Date or a date string" }
}

export const WATERMARK_OPTION: Record<string, OptionSpec> = {
  watermark: { type: 'string', meta: 'DUR', describe: 'how late a record may come: the watermark trails the largest event time seen by DUR (default 0)' }
}

export interface WatermarkState {
  /** the largest event time seen; null before the first */
  maxSeen: number | null
  /** the watermark in force; null before the first batch with a record */
  current: number | null
}

export class Watermark {
  private maxSeen: number | null = null
  private now: number | null = null

  constructor (readonly delay: number) {}

  /** The watermark in force for the batch being processed: -Infinity before there is one. */
  get current (): number { return this.now ?? -Infinity }

  /** A record's event time, seen in this batch: it moves the watermark at advance(). */
  observe (time: number): void {
    if (this.maxSeen === null || time > this.maxSeen) this.maxSeen = time
  }

  /** After a batch: the watermark for the next one. Says whether it moved. */
  advance (): boolean {
    if (this.maxSeen === null) return false
    const next = this.maxSeen - this.delay
    if (this.now !== null && next <= this.now) return false
    this.now = next
    return true
  }

  snapshot (): WatermarkState { return { maxSeen: this.maxSeen, current: this.now } }

  restore (state: unknown): void {
    const s = state as WatermarkState
    if (s === null || typeof s !== 'object' || !isTimeOrNull(s.maxSeen) || !isTimeOrNull(s.current)) {
      throw new Error(`the watermark is not {maxSeen, current}, but ${excerpt(state)}`)
    }
    this.maxSeen = s.maxSeen
    this.now = s.current
  }
}

/** An event time or a watermark in messages: ISO 8601, or -Infinity before there is a watermark. */
export function timeText (ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}

function isTimeOrNull (v: unknown): boolean {
  return v === null || (typeof v === 'number' && Number.isFinite(v))
}

/** --watermark DUR as ms (0 when not given). */
export function watermarkDelay (def: OperatorDefinition, text: string | undefined): number {
  try {
    return text === undefined ? 0 : parseDuration(text, '--watermark', { zero: true })
  } catch (err) {
    throw err instanceof UsageError ? usage(def, err.message) : err
  }
}

/**
 * --event-time FN compiled: a record's time in ms, or SKIP when FN threw under
 * --on-error skip or gave no time (a bad record: exit 65, or set aside).
 */
export function eventTimeFunction (text: string, ctx: Context, what = '--event-time'): (record: unknown) => number | typeof SKIP {
  const fn = ctx.guard(compileFunction(text, ctx.scope, what))
  return record => {
    const value = fn(record)
    if (value === SKIP) return SKIP
    const ms = toMillis(value)
    if (ms !== undefined) return ms
    ctx.badRecord(record, `${what} gave ${excerpt(value)}, not a time (ms since the epoch, or a date string)`)
    return SKIP
  }
}
