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
//
// Keyed state (update-state-by-key, map-with-state) is split by key instead: each
// worker owns the keys that hash to it, and deals every pair it makes to its key's
// owner (worker to worker, through ports of their own). At the end of the batch the
// main thread tells each where in the stream every chunk's pairs begin; each updates
// its keys and hands back its output, each record with its place in one thread's
// order (a key's first-seen place, or its record's), and the main thread merges them
// by those places. The checkpoint is the threads' states merged the same way, as one
// thread would have written it, so a restart may use another N. (group-by-key was
// tried this way and left on one thread: its values all go back to the main thread,
// and two threads were 7% faster at twice the memory.)
//
//   chunk 0 ──► worker 0: map, deal ──┬─► worker 0's keys ─┐
//   chunk 1 ──► worker 1: map, deal ──┴─► worker 1's keys ─┴─ end of batch: outputs ──► merge by first place ──► the Stage
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import { Assembler } from '../core/assemble.js'
import { DstreamError, RuntimeError, usage } from '../core/errors.js'
import type { Reducer } from '../core/functions.js'
import { SKIP, type Chunk, type Common, type Definition, type Emit, type Instance, type Placed } from '../core/types.js'
import type { OperatorContext } from './context.js'
import { checkEntries } from '../ops/state.js'
import type { FromWorker, KeyShare, Share, ToWorker, WorkerSetup } from './partitionWorker.js'
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
  private readonly drained: Waiter[] = []
  failure: Error | undefined
  private stopping = false

  /** `folded`: how many records the per-record operators made of chunk seq */
  constructor (setup: WorkerSetup, transfer: MessagePort[], stderr: (text: string) => void, private readonly onFailure: (err: Error) => void, folded: (seq: number, count: number) => void) {
    this.worker = new Worker(new URL('./partitionWorker.js', import.meta.url), { workerData: setup, transferList: transfer })
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'folded') {
        folded(message.seq, message.count)
        this.inFlight--
        this.room.shift()?.resolve(undefined)
        if (this.inFlight === 0) for (const w of this.drained.splice(0)) w.resolve(undefined)
      } else if (message.type === 'share' || message.type === 'keys') this.shares.shift()?.resolve(message.share)
      else if (message.type === 'snapshot') this.shares.shift()?.resolve(message.snapshot)
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

  /** Resolves when every chunk sent has been worked on. */
  allFolded (): Promise<void> | undefined {
    if (this.inFlight === 0 && !this.failure) return undefined
    return this.waitOn(this.drained)
  }

  share<T = Share> (): Promise<T> { return this.waitOn(this.shares) }

  private waitOn<T> (list: Waiter[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<T>((resolve, reject) => list.push({ resolve, reject }))
  }

  private fail (err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const w of [...this.room.splice(0), ...this.shares.splice(0), ...this.drained.splice(0)]) w.reject(err)
    this.onFailure(err)
  }
}

export interface PartitionsOptions {
  setup: Omit<WorkerSetup, 'me' | 'peers'>
  partitions: number
  /** a keyed fold: the operator's reducer, whose merge joins the shares of a key, and its instance, which takes the merged table */
  fold?: { reducer: Reducer & { builtin?: string }, instance: Instance }
  /** split by key: what the operator's Stage holds in its place */
  byKey?: PartitionedState
  /** the contexts of the stages the workers run, in order, the keyed one last */
  contexts: OperatorContext[]
  /** the keyed operator keeps its state per input partition from a kafka source, which the threads do not */
  statePerInputPartition?: boolean
}

/**
 * Keyed state's instance in its Stage when worker threads keep the state: it emits
 * each batch's merged output and keeps the checkpoint: the threads' merged snapshots
 * when they have them (map-with-state), else the output (update-state-by-key: the
 * whole state as [key, state] pairs). A checkpoint restored goes to the threads.
 */
export class PartitionedState implements Instance {
  readonly input = 'batches'
  private last: unknown[] = []
  private size = 0
  /** whether the threads' snapshots, not the output, are the checkpoint (they say so with every batch) */
  snapshots = false
  /** set by Partitions: hands a checkpoint to the threads */
  restoreTo: ((saved: unknown) => void) | undefined

  onBatch (): never { throw new RuntimeError('keyed state on worker threads takes whole batches from them, never records') }

  /** A batch's merged output, with the threads' merged snapshot when they were asked for one, and the keys they hold. */
  emit (records: unknown[], snapshot: unknown[] | undefined, size: number): Emit {
    if (snapshot) this.last = snapshot
    else if (!this.snapshots) this.last = records
    this.size = size
    return records
  }

  /** The threads' merged snapshot, taken after the last batch. */
  hold (snapshot: unknown[]): void { this.last = snapshot }

  snapshot (): unknown { return this.last }
  restore (saved: unknown): void {
    checkEntries(saved)
    this.last = saved
    this.size = saved.length
    this.restoreTo!(saved)
  }

  keys (): number { return this.size }
}

export class Partitions implements Downstream {
  private readonly order = new Assembler()
  private readonly partitions: Partition[]
  private readonly merge: (a: unknown, b: unknown) => unknown
  private seq = 0
  private extra: Record<string, unknown> | undefined
  private failure: Error | undefined
  /** split by key: how many records the per-record operators made of each chunk of the batch */
  private counts: number[] = []
  /** split by key: the records made before this batch, in the whole run (where its places begin) */
  private placed = 0

  /** `keyed`: the keyed operator's Stage, which takes each merged batch */
  constructor (private readonly o: PartitionsOptions, private readonly keyed: Stage) {
    const ctx = o.contexts[o.contexts.length - 1]
    const merge = o.fold?.reducer.merge ?? (() => SKIP)
    this.merge = o.fold?.reducer.builtin ? merge : ctx.guard(merge)
    const n = o.partitions
    // split by key: a port between every two threads, for the pairs they deal each other
    const peers: Array<Array<MessagePort | undefined>> = Array.from({ length: n }, () => new Array(n).fill(undefined))
    if (o.byKey) {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const { port1, port2 } = new MessageChannel()
          peers[i][j] = port1
          peers[j][i] = port2
        }
      }
      o.byKey.restoreTo = saved => { for (const p of this.partitions) p.send({ type: 'restore', saved }) }
    }
    this.partitions = peers.map((mine, me) => new Partition(
      o.byKey ? { ...o.setup, me, peers: mine } : { ...o.setup, me },
      mine.filter((port): port is MessagePort => port !== undefined),
      ctx.stderr,
      err => { this.failure ??= err },
      (seq, count) => { this.counts[seq] = count }
    ))
  }

  accept (chunk: Chunk, bytes?: number): void | Promise<void> {
    if (this.failure) throw this.failure
    const first = this.o.contexts[0]
    const wrong = this.order.check(chunk)
    if (wrong) {
      first.badLine(JSON.stringify({ time: chunk.time, interval: chunk.interval, records: chunk.records }), wrong, this.order.last)
      return
    }
    // a batch line with "kafka": a kafka source's, whose state goes per input partition, on one thread
    if (this.o.statePerInputPartition && chunk.extra?.kafka !== undefined) {
      throw new RuntimeError(`dstream ${this.o.contexts[this.o.contexts.length - 1].name}: batch ${chunk.time}: from a kafka source, the state is kept per input partition (to move with its partitions between instances of the pipeline), which --partitions ${this.o.partitions} does not do: run it without --partitions`)
    }
    this.order.track(chunk)
    // keyed state is restored before the threads see a record of the run
    this.keyed.restoreBefore(chunk.time)
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
    const extra = this.extra
    this.extra = undefined
    if (this.o.byKey) {
      await this.closeByKey(time, interval, extra)
      return
    }
    for (const p of this.partitions) p.send({ type: 'end', time, interval })
    const shares = await Promise.all(this.partitions.map(p => p.share()))
    this.countSetAside(shares)
    // a user merge that throws names this batch
    this.o.contexts[this.o.contexts.length - 1].batch = { time, interval, more: false }
    this.seq = 0
    const table = this.merged(shares)
    await this.keyed.combined(batch => this.o.fold!.instance.onCombined!(table, batch), time, interval, extra)
  }

  /** Split by key: where each chunk's pairs begin in the stream, to every thread; their outputs merged by first-seen place. */
  private async closeByKey (time: number, interval: number, extra: Record<string, unknown> | undefined): Promise<void> {
    await Promise.all(this.partitions.map(p => p.allFolded()))
    const bases: number[] = []
    for (let seq = 0; seq < this.seq; seq++) {
      bases.push(this.placed)
      this.placed += this.counts[seq]
    }
    this.counts = []
    this.seq = 0
    // the threads' snapshots only for a batch the Stage checkpoints after
    const snapshot = this.keyed.checkpointsNext()
    for (const p of this.partitions) p.send({ type: 'end', time, interval, bases, snapshot })
    const shares = await Promise.all(this.partitions.map(p => p.share<KeyShare>()))
    this.countSetAside(shares)
    const state = this.o.byKey!
    const first = merged(shares.map(s => s.out))
    const records = shares[0].then ? first.concat(merged(shares.map(s => s.then!))) : first
    state.snapshots = shares[0].snapshots
    const held = shares[0].snapshot ? merged(shares.map(s => s.snapshot!)) : undefined
    const size = shares.reduce((n, s) => n + s.size, 0)
    await this.keyed.combined(() => state.emit(records, held, size), time, interval, extra)
  }

  private countSetAside (shares: Array<{ setAside: number[] }>): void {
    for (const share of shares) share.setAside.forEach((n, i) => this.o.contexts[i].counted(n))
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
    // the Stage checkpoints at its end the batches it has not: the threads' state of now
    const state = this.o.byKey
    if (open === undefined && state?.snapshots && this.keyed.unsavedAtEnd()) {
      for (const p of this.partitions) p.send({ type: 'snapshot' })
      state.hold(merged(await Promise.all(this.partitions.map(p => p.share<Placed>()))))
    }
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

/** The threads' records, each list ascending by place, as one list in that order. */
function merged (lists: Placed[]): unknown[] {
  if (lists.length === 1) return lists[0].records
  const out: unknown[] = []
  const at = lists.map(() => 0)
  for (;;) {
    let best = -1
    for (let s = 0; s < lists.length; s++) {
      if (at[s] < lists[s].places.length && (best < 0 || lists[s].places[at[s]] < lists[best].places[at[best]])) best = s
    }
    if (best < 0) return out
    out.push(lists[best].records[at[best]++])
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
  if (keyed.def.kind !== 'operator' || !(keyed.def.combiner || keyed.def.keyedPart)) return { refused: `${keyed.def.name} has no worker threads yet; --partitions ${partitions} is accepted and it runs on one`, at: to }
  const from = specs[0].def.kind === 'source' ? 1 : 0
  const between = specs.slice(from, to)
  const blocking = between.find(s => s.def.kind !== 'operator' || !s.def.perRecord)
  if (blocking) return { refused: `--partitions ${partitions} runs on one thread here: its worker threads run only per-record operators (map, flat-map, filter, map-values, flat-map-values) before it, and ${blocking.def.name} is not one`, at: to }
  if (specs.slice(from, to + 1).some(s => s.module === undefined)) return { refused: `--partitions ${partitions} runs on one thread here (the operators' modules are not known)`, at: to }
  return { from, to, partitions }
}
