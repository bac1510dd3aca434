// One operator in a pipeline: the lifecycle every operator shares. It checks the
// order of what comes in, hands the operator chunks or whole batches as it asked,
// and passes what the operator returns downstream; the operator file holds only
// its own logic. A piped command is a Stage between a reader and a writer; a fused
// chain (`then`) is Stages linked directly, so both give the same output.
import { Assembler } from './assemble.js'
import type { Checkpoint } from './checkpoint.js'
import { Merger } from './merge.js'
import type { OperatorContext } from './context.js'
import type { Chunk, Emit, Instance, OperatorDefinition } from './types.js'

/** Where a stateful operator's state goes, how often, and where a restored run resumes. */
export interface Checkpointing {
  checkpoint: Checkpoint
  /** checkpoint after every this many batches */
  every: number
  /** the time of the restored checkpoint: batches up to it are already in the state */
  resumeAfter?: number
}

export interface Downstream {
  accept(chunk: Chunk): void | Promise<void>
  end(): void | Promise<void>
}

const isPromise = (x: unknown): x is Promise<any> => typeof (x as any)?.then === 'function'

export class Stage implements Downstream {
  private readonly order = new Assembler()
  /** pairs the main stream (0) with the `--with` streams, for operators that take them */
  readonly merger: Merger | undefined

  private outputInterval: { input: number, output: number } | undefined
  private unsaved = 0
  private lastTime: number | undefined

  constructor (
    private readonly def: OperatorDefinition,
    private readonly instance: Instance,
    private readonly ctx: OperatorContext,
    private readonly next: Downstream,
    withNames: string[] = [],
    private readonly checkpointing?: Checkpointing
  ) {
    if (def.withStreams) {
      this.merger = new Merger(['the input', ...withNames], def.name, (time, interval, perStream, extra) =>
        this.run(perStream[0], time, interval, false, extra, perStream.slice(1)), { maxWait: instance.maxWait, warn: ctx.stderr })
    }
  }

  accept (chunk: Chunk): void | Promise<void> {
    const wrong = this.order.check(chunk)
    if (wrong) {
      this.ctx.badLine(JSON.stringify({ time: chunk.time, interval: chunk.interval, records: chunk.records }), wrong, this.order.last)
      return
    }
    const resume = this.checkpointing?.resumeAfter
    if (resume !== undefined && chunk.time <= resume) {
      // already folded into the restored state: a replayed input must not count twice
      if (!chunk.more) this.ctx.stderr(`dstream ${this.def.name}: batch ${chunk.time} is not after the restored checkpoint (batch ${resume}); taken as a replay of input already in the state, and skipped\n`)
      this.order.track(chunk)
      return
    }
    if (this.def.input === 'chunks') {
      this.order.track(chunk)
      return this.run(chunk.records, chunk.time, chunk.interval, chunk.more === true, chunk.extra)
    }
    const batch = this.order.push(chunk)
    if (!batch) return
    if (this.merger) return this.merger.push(0, batch)
    return this.run(batch.records, batch.time, batch.interval, false, batch.extra)
  }

  /** Another stream's whole batch (from `--with`). */
  acceptOther (stream: number, chunk: Chunk, order: Assembler): void | Promise<void> {
    const wrong = order.check(chunk)
    if (wrong) {
      this.ctx.badLine(JSON.stringify(chunk), `--with stream ${stream}: ${wrong}`, order.last)
      return
    }
    const batch = order.push(chunk)
    if (batch) return this.merger!.push(stream, batch)
  }

  async end (): Promise<void> {
    const open = this.order.pending
    if (open !== undefined) {
      this.ctx.stderr(`dstream ${this.def.name}: input ended inside batch ${open} (did the command before this one die?); closing that batch with what came\n`)
      if (this.def.input === 'chunks') {
        this.order.track({ time: open, interval: 0, records: [] })
        await this.run([], open, this.lastInterval, false, undefined)
      } else {
        const batch = this.order.close()!
        await (this.merger ? this.merger.push(0, batch) : this.run(batch.records, batch.time, batch.interval, false, batch.extra))
      }
    }
    if (this.merger) {
      await this.merger.end(0)
      await this.merger.finished
    }
    if (this.unsaved > 0) this.save()
    await this.instance.onEnd?.()
    await this.next.end()
  }

  private lastInterval = 0

  private run (records: unknown[], time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined, others?: unknown[][]): void | Promise<void> {
    this.lastInterval = interval
    this.ctx.batch = { time, interval, more }
    const output = this.outputIntervalFor(interval)
    const out = this.instance.onBatch(records, this.ctx.batch, others)
    if (isPromise(out)) return out.then(o => this.closed(o, time, output, more, extra))
    return this.closed(out, time, output, more, extra)
  }

  /** The operator's output interval for this input interval (a window's slide), asked once. */
  private outputIntervalFor (input: number): number {
    if (!this.instance.outputInterval) return input
    if (this.outputInterval?.input !== input) this.outputInterval = { input, output: this.instance.outputInterval(input) }
    return this.outputInterval.output
  }

  /** After a batch: checkpoint the state when it is time, then hand the output on. */
  private closed (out: Emit, time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined): void | Promise<void> {
    if (!more && this.checkpointing) {
      this.lastTime = time
      if (++this.unsaved >= this.checkpointing.every) this.save()
    }
    return this.forward(out, time, interval, more, extra)
  }

  private save (): void {
    this.checkpointing!.checkpoint.save(this.lastTime!, this.instance.snapshot!())
    this.unsaved = 0
  }

  private forward (out: Emit, time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined): void | Promise<void> {
    // undefined: no batch at this time. An empty non-final chunk carries nothing.
    if (out === undefined || (more && out.length === 0)) return
    const chunk: Chunk = { time, interval, records: out }
    if (more) chunk.more = true
    if (extra) chunk.extra = extra
    return this.next.accept(chunk)
  }
}
