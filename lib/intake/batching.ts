// A source's batching options compiled (--interval, --chunk, --json, --event-time,
// --watermark): how its lines become records and its records batches. Every source
// that batches lines starts here; the intakes (lineIntake.ts, replayable.ts) take
// the result and never read the options themselves.
import { parseDuration, toMillis } from '../core/durations.js'
import { excerpt, usage } from '../core/errors.js'
import { compileFunction } from '../core/functions.js'
import { SKIP, type Chunk, type Context, type Definition, type SourceDefinition, type SourceIO } from '../core/types.js'
import type { BatchingOptions } from './options.js'
import { progressBar, type Progress, type Unit } from './progress.js'

/** How lines become records and batches: the source options, compiled. */
export interface Batching {
  interval: number
  chunk: number
  /** a line to a record; SKIP when it is bad and was set aside */
  parse(line: string, time: number): unknown
  /** by event time: the record's timestamp in ms, SKIP when it has none */
  eventTime?: { stamp(record: unknown, time: number): number | typeof SKIP, lateness: number }
  /** a record later than the watermark */
  late(record: unknown, timestamp: number, batch: number): void
  emit(chunk: Chunk): void | Promise<void>
  say(text: string): void
  /** a bar for bounded work (the replay after a restart) on stderr; undefined when stderr is not a terminal, or not asked for */
  progress?(unit: Unit, total: number): Progress | undefined
  clock?: () => number
}

/** A whole batch out, in chunks of at most `chunk` records, `more` on all but the last. */
export async function emitInChunks (b: Pick<Batching, 'chunk' | 'emit'>, time: number, interval: number, records: unknown[]): Promise<void> {
  let i = 0
  for (; records.length - i > b.chunk; i += b.chunk) await b.emit({ time, interval, records: records.slice(i, i + b.chunk), more: true })
  await b.emit({ time, interval, records: i === 0 ? records : records.slice(i) })
}

/** --interval and --chunk, checked (a usage error when they are not what they must be). */
export function batchSize (opts: { interval?: string, chunk: number }, def: Definition): { interval: number, chunk: number } {
  const interval = duration(def, opts.interval ?? '1s', 'interval')
  if (!Number.isInteger(opts.chunk) || opts.chunk < 1) throw usage(def, `--chunk must be a positive whole number, got ${opts.chunk}`)
  return { interval, chunk: opts.chunk }
}

/** The batching options compiled: interval, chunk, parsing, the event-time stamp. */
export function batching (opts: BatchingOptions, def: SourceDefinition, ctx: Context, io: Pick<SourceIO, 'emit'>): Batching {
  const { interval, chunk } = batchSize(opts, def)
  if (opts.watermark !== undefined && opts.eventTime === undefined) throw usage(def, '--watermark needs --event-time')
  const parse = opts.json
    ? (line: string, time: number) => {
        try {
          return JSON.parse(line)
        } catch (err) {
          ctx.badRecord(line, `not JSON (${(err as Error).message})`, time)
          return SKIP
        }
      }
    : (line: string) => line
  let eventTime: Batching['eventTime']
  if (opts.eventTime !== undefined) {
    const fn = ctx.guard(compileFunction(opts.eventTime, ctx.scope, '--event-time'))
    const lateness = opts.watermark === undefined ? 0 : duration(def, opts.watermark, 'watermark')
    eventTime = {
      lateness,
      stamp (record, time) {
        const value = fn(record)
        if (value === SKIP) return SKIP
        const ms = toMillis(value)
        if (ms !== undefined) return ms
        ctx.badRecord(record, `--event-time gave ${excerpt(value)}, not a time (ms since the epoch, or a date string)`, time)
        return SKIP
      }
    }
  }
  return {
    interval,
    chunk,
    parse,
    eventTime,
    late (record, timestamp, batch) {
      ctx.setAside(record, `later than the watermark: its batch ${batch} was emitted already (timestamp ${new Date(timestamp).toISOString()})`, batch)
    },
    emit: chunk => io.emit(chunk),
    say: text => ctx.stderr(`dstream ${def.name}: ${text}\n`),
    progress: (unit, total) => progressBar(ctx, { unit, total })
  }
}

function duration (def: Definition, text: string, what: string): number {
  try {
    return parseDuration(text, what)
  } catch (err) {
    throw usage(def, (err as Error).message)
  }
}
