// --partitions N, Spark's numPartitions, for a keyed fold at the end of a fused run
// of per-record operators: `batch then flat-map F then map G then reduce-by-key sum
// --partitions 2`. The chunks of each batch are dealt to N worker threads in turn;
// each runs the per-record operators on its chunks and folds their output by key
// (lib/engine/partitionWorker.ts). At the end of the batch the workers' shares are
// merged key by key with the reducer's merge (Spark's map-side combine), the keys in
// the order one fold would have seen them first: by the chunk each first came in, then
// by its place in that chunk. The keyed operator's Stage takes that table as its
// batch (onCombined): a window or its checkpoints do not know threads did the folding.
// So the output is that of N = 1, for a reducer that is commutative as well as
// associative (Spark asks the same of reduceByKey).
//
//   chunk 0 ──► worker 0: map, fold ─┐
//   chunk 1 ──► worker 1: map, fold ─┼─ end of batch: shares ──► merge ──► the keyed Stage
//   chunk 2 ──► worker 0: map, fold ─┘
import { Worker } from 'node:worker_threads'
import { Assembler } from '../core/assemble.js'
import { DstreamError, RuntimeError, usage } from '../core/errors.js'
import type { Reducer } from '../core/functions.js'
import { SKIP, type Chunk, type Common, type Definition } from '../core/types.js'
import type { OperatorContext } from './context.js'
import type { FromWorker, Share, ToWorker, WorkerSetup } from './partitionWorker.js'
import type { Downstream, Stage } from './stage.js'

/** Chunks a worker may have in hand before the reader waits: bounds the memory of a fast reader. */
const IN_FLIGHT = 4

interface Waiter { resolve(value: any): void, reject(err: Error): void }

class Partition {
  readonly worker: Worker
  /** chunks sent and not yet folded */
  inFlight = 0
  private readonly shares: Waiter[] = []
  private readonly room: Waiter[] = []
  failure: Error | undefined
  private stopping = false

  constructor (setup: WorkerSetup, stderr: (text: string) => void, private readonly onFailure: (err: Error) => void) {
    this.worker = new Worker(new URL('./partitionWorker.js', import.meta.url), { workerData: setup })
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'folded') {
        this.inFlight--
        this.room.shift()?.resolve(undefined)
      } else if (message.type === 'share') this.shares.shift()?.resolve(message.share)
      else if (message.type === 'stderr') stderr(message.text)
      else this.fail(new DstreamError(message.message, message.exitCode))
    })
    this.worker.on('error', err => this.fail(new RuntimeError(`a --partitions worker failed: ${err.stack ?? err}`)))
    this.worker.on('exit', code => { if (code !== 0 && !this.stopping) this.fail(new RuntimeError(`a --partitions worker exited with code ${code}`)) })
  }

  send (message: ToWorker): void { this.worker.postMessage(message) }

  stop (): Promise<number> {
    this.stopping = true
    return this.worker.terminate()
  }

  /** Resolves when the worker has room for another chunk. */
  roomFor (): Promise<void> | undefined {
    if (this.inFlight < IN_FLIGHT && !this.failure) return undefined
    return this.waitOn(this.room)
  }

  share (): Promise<Share> { return this.waitOn(this.shares) }

  private waitOn<T> (list: Waiter[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<T>((resolve, reject) => list.push({ resolve, reject }))
  }

  private fail (err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const w of [...this.room.splice(0), ...this.shares.splice(0)]) w.reject(err)
    this.onFailure(err)
  }
}

export interface PartitionsOptions {
  setup: WorkerSetup
  partitions: number
  /** the keyed operator's reducer, whose merge joins the shares of a key */
  reducer: Reducer & { builtin?: string }
  /** the contexts of the stages the workers run, in order, the keyed one last */
  contexts: OperatorContext[]
}

export class Partitions implements Downstream {
  private readonly order = new Assembler()
  private readonly partitions: Partition[]
  private readonly merge: (a: unknown, b: unknown) => unknown
  private seq = 0
  private extra: Record<string, unknown> | undefined
  private failure: Error | undefined

  /** `keyed`: the keyed operator's Stage, which takes each merged batch */
  constructor (private readonly o: PartitionsOptions, private readonly keyed: Stage) {
    const ctx = o.contexts[o.contexts.length - 1]
    this.merge = o.reducer.builtin ? o.reducer.merge : ctx.guard(o.reducer.merge)
    this.partitions = Array.from({ length: o.partitions }, () => new Partition(o.setup, ctx.stderr, err => { this.failure ??= err }))
  }

  accept (chunk: Chunk, bytes?: number): void | Promise<void> {
    if (this.failure) throw this.failure
    const first = this.o.contexts[0]
    const wrong = this.order.check(chunk)
    if (wrong) {
      first.badLine(JSON.stringify({ time: chunk.time, interval: chunk.interval, records: chunk.records }), wrong, this.order.last)
      return
    }
    this.order.track(chunk)
    this.keyed.watch?.arrive(chunk, bytes)
    if (chunk.extra) this.extra = { ...this.extra, ...chunk.extra }
    let sent: Promise<void> | undefined
    if (chunk.records.length > 0) {
      const seq = this.seq++
      const partition = this.partitions[seq % this.partitions.length]
      partition.inFlight++
      partition.send({ type: 'chunk', seq, time: chunk.time, interval: chunk.interval, records: chunk.records })
      sent = partition.roomFor()
    }
    if (chunk.more) return sent
    return (sent ?? Promise.resolve()).then(() => this.close(chunk.time, chunk.interval))
  }

  /** The end of a batch: every worker's share, merged, to the keyed Stage. */
  private async close (time: number, interval: number): Promise<void> {
    for (const p of this.partitions) p.send({ type: 'end', time })
    const shares = await Promise.all(this.partitions.map(p => p.share()))
    for (const share of shares) share.setAside.forEach((n, i) => this.o.contexts[i].counted(n))
    // a user merge that throws names this batch
    this.o.contexts[this.o.contexts.length - 1].batch = { time, interval, more: false }
    const extra = this.extra
    this.extra = undefined
    this.seq = 0
    await this.keyed.combined(this.merged(shares), time, interval, extra)
  }

  /** The shares as one fold's table: each key's accumulators merged, keys by (first chunk, place in it). */
  private merged (shares: Share[]): Map<string, [unknown, unknown]> {
    const table = new Map<string, [unknown, unknown]>()
    if (shares.length === 1) {
      const [share] = shares
      for (let i = 0; i < share.ids.length; i++) table.set(share.ids[i], [share.keys[i], share.accs[i]])
      return table
    }
    const rows = new Map<string, { key: unknown, acc: unknown, first: number, place: number }>()
    for (const share of shares) {
      for (let i = 0; i < share.ids.length; i++) {
        const row = rows.get(share.ids[i])
        if (row === undefined) {
          rows.set(share.ids[i], { key: share.keys[i], acc: share.accs[i], first: share.firsts[i], place: i })
          continue
        }
        const acc = this.merge(row.acc, share.accs[i])
        if (acc !== SKIP) row.acc = acc
        if (share.firsts[i] < row.first) { row.first = share.firsts[i]; row.place = i }
      }
    }
    const ordered = [...rows].sort(([, a], [, b]) => a.first - b.first || a.place - b.place)
    for (const [id, row] of ordered) table.set(id, [row.key, row.acc])
    return table
  }

  async end (): Promise<void> {
    const open = this.order.pending
    await Promise.all(this.partitions.map(p => p.stop()))
    if (open !== undefined) {
      throw new RuntimeError(`dstream ${this.o.contexts[0].name}: input ended inside batch ${open} (did the command before this one die?); that partial batch is dropped, not passed on`)
    }
    await this.keyed.end()
  }

  /** The run failed elsewhere: the workers go. */
  abort (): Promise<unknown> {
    return Promise.all(this.partitions.map(p => p.stop()))
  }
}

export interface PlanSpec { def: Definition, opts: Record<string, any> & Common, module?: string }

/**
 * The stages --partitions takes over in a run: from the first operator up to the
 * first keyed fold given N > 1, when every operator before it is per-record and
 * each stage's module is known (to load it in the workers). `refused` says why a
 * --partitions N > 1 runs on one thread.
 */
export function partitionPlan (specs: PlanSpec[]): { from: number, to: number, partitions: number } | { refused: string, at: number } | undefined {
  for (const { def, opts } of specs) {
    if (opts.partitions !== undefined && (!Number.isInteger(opts.partitions) || opts.partitions < 1)) throw usage(def, `--partitions must be a whole number of at least 1, got ${opts.partitions}`)
  }
  const to = specs.findIndex(s => s.def.kind === 'operator' && (s.opts.partitions ?? 1) > 1)
  if (to < 0) return undefined
  const keyed = specs[to]
  const partitions = keyed.opts.partitions
  if (keyed.def.kind !== 'operator' || !keyed.def.combiner) return { refused: `${keyed.def.name} has no worker threads yet; --partitions ${partitions} is accepted and it runs on one`, at: to }
  const from = specs[0].def.kind === 'source' ? 1 : 0
  const between = specs.slice(from, to)
  const blocking = between.find(s => s.def.kind !== 'operator' || !s.def.perRecord)
  if (blocking) return { refused: `--partitions ${partitions} runs on one thread here: its worker threads run only per-record operators (map, flat-map, filter, map-values, flat-map-values) before it, and ${blocking.def.name} is not one`, at: to }
  if (specs.slice(from, to + 1).some(s => s.module === undefined)) return { refused: `--partitions ${partitions} runs on one thread here (the operators' modules are not known)`, at: to }
  return { from, to, partitions }
}
