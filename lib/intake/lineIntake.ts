// Where a line source's lines go (batch, socket, listen, exec): parsed (--json),
// batched by processing time or by event time (--event-time, --watermark), and
// with --wal written ahead to the state directory so that the batches can be
// emitted again after a crash (lib/wal.ts, lib/replayable.ts).
import { Batcher } from './batcher.js'
import { usage } from './cli.js'
import { Component } from './component.js'
import { parseDuration } from './durations.js'
import { excerpt } from './errors.js'
import { EventTimeBatcher } from './eventTime.js'
import { compileFunction } from './functions.js'
import type { OptionSpec } from './options.js'
import { ReplayableIntake, emitInChunks, type Batching } from './replayable.js'
import { SKIP, type Common, type Context, type SourceDefinition, type SourceIO } from './types.js'
import { Wal } from './wal.js'

export interface Intake {
  /** a line of input; a promise when the pipeline asks to wait */
  push(line: string): void | Promise<void>
  /** end of input or a graceful stop: what is open or pending is emitted */
  close(): void | Promise<void>
  /** the batch a record arriving now belongs to, for messages */
  readonly time: number
}

export interface BatchingOptions {
  interval?: string
  json: boolean
  chunk: number
  eventTime?: string
  watermark?: string
}

export interface LineSourceOptions extends BatchingOptions {
  wal: boolean
}

export const EVENT_TIME_OPTIONS: Record<string, OptionSpec> = {
  'event-time': { type: 'string', meta: 'FN', describe: "batch by the records' own time: FN gives ms since the epoch or a date string" },
  watermark: { type: 'string', meta: 'DUR', describe: 'with --event-time: how late a record may come (default 0)' }
}

/** What --wal and --event-time do, for the descriptions of the line sources. */
export const WAL_AND_EVENT_TIME_TEXT = `

With --wal, what comes in is first written to the state directory (DIR/NAME/,
WAL segments and a log of the batches), each batch synced before it leaves: killed
and started again, the source first emits again, with the same times and records,
the batches the pipeline's sinks (save, foreach) had not committed, and the lines
of the batch that was open. Lines are safe once the read holding them is in the
log (a few milliseconds after they arrive); what a client sent that was not, the
client must send again. Segments are deleted once committed.

With --event-time FN, a record goes to the batch whose interval holds its own time
(FN gives ms since the epoch, a Date or a date string); a batch leaves once the
watermark (the largest time seen minus --watermark) has passed its end, empty
batches fill gaps, a record whose batch has left goes to the dead-letter file and
is counted, and at end of input every pending batch leaves. Time moves with the
data only: no batch leaves while nothing comes.`

export const WAL_OPTION: Record<string, OptionSpec> = {
  wal: { type: 'boolean', default: false, describe: 'write what comes in to the state directory first, so a restart replays what the pipeline has not committed' }
}

/** The batching options compiled: interval, chunk, parsing, the event-time stamp. */
export function batching (opts: BatchingOptions, def: SourceDefinition, ctx: Context, io: Pick<SourceIO, 'emit'>): Batching {
  const duration = (text: string, what: string) => {
    try {
      return parseDuration(text, what)
    } catch (err) {
      throw usage(def, (err as Error).message)
    }
  }
  const interval = duration(opts.interval ?? '1s', 'interval')
  if (!Number.isInteger(opts.chunk) || opts.chunk < 1) throw usage(def, `--chunk must be a positive whole number, got ${opts.chunk}`)
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
    const lateness = opts.watermark === undefined ? 0 : duration(opts.watermark, 'watermark')
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
    chunk: opts.chunk,
    parse,
    eventTime,
    late (record, timestamp, batch) {
      ctx.setAside(record, `later than the watermark: its batch ${batch} was emitted already (timestamp ${new Date(timestamp).toISOString()})`, batch)
    },
    emit: chunk => io.emit(chunk),
    say: text => ctx.stderr(`dstream ${def.name}: ${text}\n`)
  }
}

/** ms since the epoch from what --event-time gave: a number, a Date, or a string Date.parse reads. */
export function toMillis (value: unknown): number | undefined {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.floor(ms) : undefined
}

/** The intake the options ask for. */
export async function openIntake (opts: LineSourceOptions & Common, def: SourceDefinition, ctx: Context, io: Pick<SourceIO, 'emit'>): Promise<Intake> {
  const b = batching(opts, def, ctx, io)
  if (opts.wal) return WalIntake.open(opts, def, b)
  if (b.eventTime) return eventIntake(b)
  const batcher = new Batcher(b.interval, b.chunk, io)
  return {
    push (line) {
      const record = b.parse(line, batcher.time)
      if (record !== SKIP) return batcher.push(record)
    },
    close: () => batcher.close(),
    get time () { return batcher.time }
  }
}

/** By event time, in memory: a source that cannot be read again. */
function eventIntake (b: Batching): Intake {
  const events: EventTimeBatcher = new EventTimeBatcher({
    interval: b.interval,
    lateness: b.eventTime!.lateness,
    emit: (time, records) => emitInChunks(b, time, b.interval, records),
    late: b.late
  })
  return {
    push (line) {
      const record = b.parse(line, events.time)
      if (record === SKIP) return
      const stamp = b.eventTime!.stamp(record, events.time)
      if (stamp !== SKIP) return events.push(record, stamp)
    },
    close: () => events.close(),
    get time () { return events.time }
  }
}

/** Lines gathered for a moment and written ahead as one read. */
const WAL_LINES = 1000

class WalIntake implements Intake {
  private lines: string[] = []
  private scheduled: Promise<void> | undefined
  private failure: unknown

  private constructor (private readonly wal: Wal, private readonly intake: ReplayableIntake) {}

  static async open (opts: Common, def: SourceDefinition, b: Batching): Promise<WalIntake> {
    const component = Component.of(def, opts, 'source')
    let intake: ReplayableIntake | undefined
    const wal = new Wal(component, () => intake?.files ?? new Set())
    intake = await ReplayableIntake.open(component, wal, b, null)
    wal.prune()
    return new WalIntake(wal, intake)
  }

  get time (): number { return this.intake.time }

  push (line: string): void | Promise<void> {
    if (this.failure) throw this.failure
    this.lines.push(line)
    if (this.lines.length >= WAL_LINES) return this.flush()
    // a quiet moment: what came goes ahead as one read; a failure surfaces at the next push or at close
    this.scheduled ??= new Promise<void>(resolve => setImmediate(resolve)).then(() => this.flush()).catch(err => { this.failure = err })
  }

  async close (): Promise<void> {
    await this.scheduled
    if (this.failure) throw this.failure
    await this.flush()
    await this.intake.close()
    this.wal.close()
  }

  private flush (): Promise<void> {
    this.scheduled = undefined
    if (this.lines.length === 0) return Promise.resolve()
    const lines = this.lines
    this.lines = []
    return this.intake.pushRead(this.wal.append(lines), lines)
  }
}
