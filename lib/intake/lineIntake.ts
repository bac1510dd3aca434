// The intake of a line source (batch, socket, listen, exec): where its lines go
// once its options are compiled (batching.ts). In memory, by processing time
// (Batcher) or by event time (EventTimeBatcher); or, with --wal, written ahead to
// the state directory (wal.ts) as the reads of a ReplayableIntake, which logs
// them and replays them after a crash (replayable.ts).
import { Component } from '../durability/component.js'
import { SKIP, type Common, type Context, type SourceDefinition, type SourceIO } from '../core/types.js'
import { Batcher } from './batcher.js'
import { batching, emitInChunks, type Batching } from './batching.js'
import { EventTimeBatcher } from './eventTime.js'
import type { LineSourceOptions } from './options.js'
import { ReplayableIntake } from './replayable.js'
import { Wal } from './wal.js'

export interface Intake {
  /** a line of input; a promise when the pipeline asks to wait */
  push(line: string): void | Promise<void>
  /** end of input or a graceful stop: what is open or pending is emitted */
  close(): void | Promise<void>
  /** the batch a record arriving now belongs to, for messages */
  readonly time: number
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
    const wal = new Wal(component)
    return new WalIntake(wal, await ReplayableIntake.open(component, wal, b, null))
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
