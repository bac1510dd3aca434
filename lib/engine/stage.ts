// One operator in a pipeline: the lifecycle every operator shares. It checks the
// order of what comes in, hands the operator chunks or whole batches as it asked,
// and passes what the operator returns downstream; the operator file holds only
// its own logic. A piped command is a Stage between a reader and a writer; a fused
// chain (`then`) is Stages linked directly, so both give the same output.
import { Assembler } from '../core/assemble.js'
import type { Checkpoint } from '../durability/checkpoint.js'
import type { Commit } from '../durability/commit.js'
import { RuntimeError } from '../core/errors.js'
import { Merger } from './merge.js'
import type { OperatorContext } from './context.js'
import { membersOf, restartPoint } from '../durability/pipeline.js'
import type { BatchInfo, Chunk, Emit, Instance, OperatorDefinition } from '../core/types.js'
import type { BatchWatch } from '../metrics/watch.js'

/**
 * How an operator takes part in the restart protocol (lib/durability/pipeline.ts): a stateful
 * one keeps versions of its state, a sink commits the batches it has written.
 */
export interface Durability {
  checkpoint?: Checkpoint
  /** checkpoint after every this many batches */
  every?: number
  commit?: Commit
}

export interface Downstream {
  /** `bytes`: the length of the line the chunk came in, when it came through a pipe */
  accept(chunk: Chunk, bytes?: number): void | Promise<void>
  end(): void | Promise<void>
}

const isPromise = (x: unknown): x is Promise<any> => typeof (x as any)?.then === 'function'

/** Two batch lines' extras as one: lists joined, earlier first; otherwise the later value. */
function carried (earlier: Record<string, unknown>, later: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...earlier }
  for (const [key, value] of Object.entries(later ?? {})) out[key] = Array.isArray(value) && Array.isArray(out[key]) ? [...(out[key] as unknown[]), ...value] : value
  return out
}

export class Stage implements Downstream {
  private readonly order = new Assembler()
  /** pairs the main stream (0) with the `--with` streams, for operators that take them */
  readonly merger: Merger | undefined

  private outputInterval: { input: number, output: number } | undefined
  private unsaved = 0
  private lastTime: number | undefined
  /** whether the state was rolled back to the version before the first input (done once) */
  private restored = false
  private skippedSaid = false
  /** what the lines of batches that emitted nothing carried, for the next batch emitted */
  private held: Record<string, unknown> | undefined

  constructor (
    private readonly def: OperatorDefinition,
    private readonly instance: Instance,
    private readonly ctx: OperatorContext,
    private readonly next: Downstream,
    withNames: string[] = [],
    private readonly durability: Durability = {},
    /** the stage's metrics (DSTREAM_METRICS=0: none) */
    readonly watch?: BatchWatch
  ) {
    if (def.withStreams) {
      this.merger = new Merger(['the input', ...withNames], def.name, (time, interval, perStream, extra) =>
        this.run(perStream[0], time, interval, false, extra, perStream.slice(1)), { maxWait: instance.maxWait, warn: ctx.stderr })
    }
  }

  /** A chunk of the input; `bytes`: the length of the line it came in, when it came through a pipe. */
  accept (chunk: Chunk, bytes?: number): void | Promise<void> {
    const wrong = this.order.check(chunk)
    if (wrong) {
      this.ctx.badLine(JSON.stringify({ time: chunk.time, interval: chunk.interval, records: chunk.records }), wrong, this.order.last)
      return
    }
    this.watch?.arrive(chunk, bytes)
    this.restoreBefore(chunk.time)
    const committed = this.durability.commit?.committed
    if (committed != null && chunk.time <= committed) {
      // written for good by an earlier run: a replayed batch must not be written twice
      if (!this.skippedSaid) this.ctx.stderr(`dstream ${this.def.name}: batch ${chunk.time} was committed by an earlier run (which committed up to batch ${committed}); skipping what is replayed up to there\n`)
      this.skippedSaid = true
      this.order.track(chunk)
      if (this.instance.passes) return this.forward(chunk.records, chunk.time, chunk.interval, chunk.more === true, chunk.extra)
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

  /**
   * A whole batch worked on by the worker threads of --partitions (lib/engine/partitions.ts,
   * which checked the order of its chunks and counted them in): `work` gives the
   * operator's output for it (a fold's table through onCombined, or keyed state's
   * merged output), which goes on as any batch's does.
   */
  combined (work: (batch: BatchInfo) => Emit, time: number, interval: number, extra: Record<string, unknown> | undefined): void | Promise<void> {
    this.order.track({ time, interval, records: [] })
    this.restoreBefore(time)
    this.ctx.batch = { time, interval, more: false }
    const output = this.outputIntervalFor(interval)
    const start = this.watch ? performance.now() : 0
    const out = work(this.ctx.batch)
    this.watch?.worked(performance.now() - start)
    return this.closed(out, time, output, false, extra)
  }

  /** Whether the state is checkpointed after the next batch (--partitions asks its threads for their state then). */
  checkpointsNext (): boolean {
    return this.durability.checkpoint !== undefined && this.unsaved + 1 >= (this.durability.every ?? 1)
  }

  /** Whether end() checkpoints batches not checkpointed yet. */
  unsavedAtEnd (): boolean { return this.unsaved > 0 }

  /** Another stream's whole batch (from `--with`). */
  acceptOther (stream: number, chunk: Chunk, order: Assembler): void | Promise<void> {
    const wrong = order.check(chunk)
    if (wrong) {
      this.ctx.badLine(JSON.stringify(chunk), `--with stream ${stream}: ${wrong}`, order.last)
      return
    }
    this.restoreBefore(chunk.time)
    const batch = order.push(chunk)
    if (batch) return this.merger!.push(stream, batch)
  }

  async end (): Promise<void> {
    const open = this.order.pending
    if (open !== undefined) {
      // Half a batch is not a batch: passing it on would commit it at the sinks, and
      // the replay after a restart would then count its records twice.
      throw new RuntimeError(`dstream ${this.def.name}: input ended inside batch ${open} (did the command before this one die?); that partial batch is dropped, not passed on`)
    }
    if (this.merger) {
      await this.merger.end(0)
      await this.merger.finished
    }
    if (this.unsaved > 0) this.save()
    await this.instance.onEnd?.()
    await this.next.end()
  }

  private run (records: unknown[], time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined, others?: unknown[][]): void | Promise<void> {
    // the operator may add to what the line carries (the changes of state kept per input partition)
    const batch: BatchInfo = this.ctx.batch = extra ? { time, interval, more, extra } : { time, interval, more }
    const output = this.outputIntervalFor(interval)
    const watch = this.watch
    const start = watch ? performance.now() : 0
    const out = this.instance.onBatch(records, batch, others)
    if (isPromise(out)) {
      return out.then(o => {
        watch?.worked(performance.now() - start)
        return this.closed(o, time, output, more, batch.extra)
      })
    }
    watch?.worked(performance.now() - start)
    return this.closed(out, time, output, more, batch.extra)
  }

  /** The operator's output interval for this input interval (a window's slide), asked once. */
  private outputIntervalFor (input: number): number {
    if (!this.instance.outputInterval) return input
    if (this.outputInterval?.input !== input) this.outputInterval = { input, output: this.instance.outputInterval(input) }
    return this.outputInterval.output
  }

  /** After a batch: checkpoint the state when it is time, or commit a sink's batch, then hand the output on. */
  private closed (out: Emit, time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined): void | Promise<void> {
    let checkpoint: number | undefined
    if (!more) {
      if (this.durability.checkpoint) {
        this.lastTime = time
        if (++this.unsaved >= (this.durability.every ?? 1)) {
          const start = performance.now()
          this.save()
          checkpoint = performance.now() - start
        }
      }
      this.durability.commit?.save(time)
    }
    const sent = this.forward(out, time, interval, more, extra)
    const watch = this.watch
    if (more || !watch) return sent
    // the batch is done once its output has gone on
    const done = () => watch.done({ keys: this.instance.keys?.(), checkpoint })
    if (sent) return sent.then(done)
    done()
  }

  /**
   * At the first input: roll the state back to the version before it. Versions at
   * or after it belong to batches that are being replayed (or to a run whose input
   * was not replayable); they are dropped and made again. Done once; --partitions
   * calls it at its first chunk, before the threads see a record.
   */
  restoreBefore (time: number): void {
    const checkpoint = this.durability.checkpoint
    if (!checkpoint || this.restored) return
    this.restored = true
    const later = checkpoint.versions().filter(v => v >= time)
    const saved = checkpoint.loadBefore(time)
    if (saved) {
      try {
        this.instance.restore!(saved.state)
      } catch (err) {
        throw checkpoint.component.refusal(`the checkpoint ${checkpoint.fileOf(saved.time)} cannot be restored (${(err as Error).message})`)
      }
    }
    if (later.length > 0) {
      this.ctx.stderr(`dstream ${this.def.name}: batch ${time} comes again: rolling the state back to ${saved ? `batch ${saved.time}` : 'its start'}\n`)
      checkpoint.remove(v => v >= time)
    } else if (saved) {
      this.ctx.stderr(`dstream ${this.def.name}: resuming from the checkpoint of batch ${saved.time} in ${checkpoint.fileOf(saved.time)}\n`)
    }
  }

  /** Writes a version, and drops the ones no restart can need any more. */
  private save (): void {
    const checkpoint = this.durability.checkpoint!
    checkpoint.save(this.lastTime!, this.instance.snapshot!())
    this.unsaved = 0
    const point = restartPoint(membersOf(checkpoint.component.stateDir))
    const keep = checkpoint.versions().filter(v => v <= point).pop()
    if (keep !== undefined) checkpoint.remove(v => v < keep)
  }

  private forward (out: Emit, time: number, interval: number, more: boolean, extra: Record<string, unknown> | undefined): void | Promise<void> {
    // undefined: no batch at this time; what its line carried goes on with the next
    // batch that is emitted (a window's slide: the offsets a sink is to commit, the
    // changes of state it is to write). An empty non-final chunk carries nothing.
    if (out === undefined && !more && extra) this.held = carried(this.held ?? {}, extra)
    if (out === undefined || (more && out.length === 0)) return
    if (this.held && !more) {
      extra = carried(this.held, extra)
      this.held = undefined
    }
    this.watch?.output(out.length)
    const chunk: Chunk = { time, interval, records: out }
    if (more) chunk.more = true
    if (extra) chunk.extra = extra
    return this.next.accept(chunk)
  }
}
