// One worker thread of --partitions (lib/engine/partitions.ts). It runs the
// per-record operators in front of a keyed operator (flat-map, map, filter) on the
// chunks it is handed, then either
// - folds what they emit by key (a `combiner`), and at the end of each batch hands
//   back its share: every key with its accumulator and the chunk the key first came
//   in, so that the shares merge in the order one fold would have seen the keys; or
// - deals the pairs to the threads that own their keys (keyed state, a `keyedPart`):
//   each pair goes, with its place in the batch, straight to its owner's port; at the
//   end of the batch each thread takes its pairs in the stream's order, updates the
//   state of its keys, and hands back its output with each key's first-seen place.
import path from 'node:path'
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { OperatorContext } from './context.js'
import { DeadLetter } from '../durability/deadLetter.js'
import { DstreamError, EXIT_FAILURE } from '../core/errors.js'
import { loadScope } from '../core/functions.js'
import { isPair } from '../core/keys.js'
import { KeyedFold } from '../ops/keyed.js'
import { ownerOf } from '../ops/state.js'
import type { Common, Instance, KeyedPart, OperatorDefinition, Placed } from '../core/types.js'

/** A stage as the worker rebuilds it: the module that exports its definition, and its options. */
export interface WorkerStage { module: string, opts: Record<string, any> & Common }

/**
 * `me` of the threads; keyed state: `peers[j]` the port to thread j (none for `me`),
 * whose keys are those ownerOf gives j.
 */
export interface WorkerSetup { prefix: WorkerStage[], keyed: WorkerStage, me: number, peers?: Array<MessagePort | undefined> }

/**
 * From the main thread: a chunk to work on (numbered in the order it came), the end
 * of a batch (split by key: `bases[seq]`, the place in the stream of chunk seq's first
 * pair; `snapshot`: the state is checkpointed after it), or, keyed state, its
 * checkpoint to restore or a request for its snapshot.
 */
export type ToWorker =
  | { type: 'chunk', seq: number, time: number, interval: number, records: unknown[] }
  | { type: 'end', time: number, interval: number, bases?: number[], snapshot?: boolean }
  | { type: 'restore', saved: unknown }
  | { type: 'snapshot' }

/** A folding worker's part of a batch: parallel arrays, in the order the keys entered its table. */
export interface Share { ids: string[], keys: unknown[], accs: unknown[], firsts: number[], setAside: number[] }

/**
 * A keyed state worker's part of a batch: its output, placed (`then`: what follows all
 * threads' first output); whether its snapshots, not its output, are the checkpoint,
 * and its snapshot when asked; the keys it holds.
 */
export interface KeyShare { out: Placed, then?: Placed, snapshots: boolean, snapshot?: Placed, size: number, setAside: number[] }

/** What one thread deals another for a chunk: the pairs of the keys it owns, with their places in the chunk. */
interface Dealt { seq: number, keys: unknown[], values: unknown[], places: number[] }

export type FromWorker =
  | { type: 'folded', seq: number, count: number }
  | { type: 'share', time: number, share: Share }
  | { type: 'keys', time: number, share: KeyShare }
  | { type: 'snapshot', snapshot: Placed | undefined }
  | { type: 'stderr', text: string }
  | { type: 'failed', message: string, exitCode: number }

const port = parentPort!
const post = (message: FromWorker) => port.postMessage(message)

interface Part { ctx: OperatorContext, deadLetter: DeadLetter, reported: number }

async function part (stage: WorkerStage): Promise<{ def: OperatorDefinition, part: Part }> {
  const def = (await import(stage.module)).default as OperatorDefinition
  const { opts } = stage
  const deadLetter = new DeadLetter(opts.deadLetter ?? path.join(opts.stateDir, 'dead-letter.ndjson'))
  const ctx = new OperatorContext({
    name: def.name,
    onError: opts.onError,
    onBadInput: opts.onBadInput,
    deadLetter,
    stateDir: opts.stateDir,
    scope: await loadScope(opts.require),
    stdout: () => {},
    stderr: text => post({ type: 'stderr', text }),
    colour: { stdout: false, stderr: false },
    stderrIsTerminal: false
  })
  return { def, part: { ctx, deadLetter, reported: 0 } }
}

async function start (setup: WorkerSetup): Promise<(message: ToWorker) => Promise<void>> {
  const prefix: Array<{ instance: Instance, part: Part }> = []
  for (const stage of setup.prefix) {
    const { def, part: p } = await part(stage)
    prefix.push({ instance: await def.init(stage.opts, p.ctx), part: p })
  }
  const keyed = await part(setup.keyed)
  const parts = [...prefix.map(p => p.part), keyed.part]
  const run = keyed.def.keyedPart ? keyWork(setup, keyed.def, keyed.part) : foldWork(setup, keyed.def, keyed.part)

  /** what the per-record operators make of a chunk */
  const records = async (message: ToWorker & { type: 'chunk' }): Promise<unknown[]> => {
    const { time, interval } = message
    let records = message.records
    for (const { instance, part: p } of prefix) {
      p.ctx.batch = { time, interval, more: true }
      const out = await instance.onBatch(records, p.ctx.batch)
      records = out ?? []
    }
    keyed.part.ctx.batch = { time, interval, more: true }
    return records
  }
  /** the records each stage set aside since the last batch */
  const setAside = (): number[] => parts.map(p => {
    const n = p.deadLetter.count - p.reported
    p.reported = p.deadLetter.count
    return n
  })
  return message => run(message, records, setAside)
}

type Work = (message: ToWorker, records: (message: ToWorker & { type: 'chunk' }) => Promise<unknown[]>, setAside: () => number[]) => Promise<void>

/** A keyed fold's share of each batch (a `combiner`). */
function foldWork (setup: WorkerSetup, def: OperatorDefinition, keyed: Part): Work {
  const fold = new KeyedFold(def.combiner!(setup.keyed.opts, keyed.ctx.scope), keyed.ctx)
  // the table's size after each chunk: keys past the previous size came in that chunk
  let bounds: Array<[seq: number, size: number]> = []
  return async (message, records, setAside) => {
    if (message.type === 'chunk') {
      const out = await records(message)
      fold.fold(out)
      bounds.push([message.seq, fold.size])
      post({ type: 'folded', seq: message.seq, count: out.length })
      return
    }
    if (message.type !== 'end') return
    const table = fold.takeTable()
    const share: Share = { ids: [], keys: [], accs: [], firsts: [], setAside: setAside() }
    let b = 0
    for (const [id, [key, acc]] of table) {
      while (bounds[b][1] <= share.ids.length) b++
      share.ids.push(id)
      share.keys.push(key)
      share.accs.push(acc)
      share.firsts.push(bounds[b][0])
    }
    bounds = []
    post({ type: 'share', time: message.time, share })
  }
}

/** The keyed state of the keys this thread owns (a `keyedPart`). */
function keyWork (setup: WorkerSetup, def: OperatorDefinition, keyed: Part): Work {
  const n = setup.peers!.length
  const me = setup.me
  const part: KeyedPart = def.keyedPart!(setup.keyed.opts, keyed.ctx, key => ownerOf(key, n) === me)
  // what this thread owns of each chunk of the batch, by chunk number
  let dealt = new Map<number, Dealt>()
  let complete: { count: number, resolve: () => void } | undefined
  const take = (d: Dealt): void => {
    dealt.set(d.seq, d)
    if (complete && dealt.size === complete.count) complete.resolve()
  }
  setup.peers!.forEach(port => port?.on('message', take))
  return async (message, records, setAside) => {
    if (message.type === 'restore') {
      part.restore(message.saved)
      return
    }
    if (message.type === 'snapshot') {
      post({ type: 'snapshot', snapshot: part.snapshot?.() })
      return
    }
    if (message.type === 'chunk') {
      const out = await records(message)
      const deals: Dealt[] = Array.from({ length: n }, () => ({ seq: message.seq, keys: [], values: [], places: [] }))
      for (let i = 0; i < out.length; i++) {
        const record = out[i]
        if (!isPair(record)) { keyed.ctx.badRecord(record, 'expected a [key, value] pair'); continue }
        const d = deals[ownerOf(record[0], n)]
        d.keys.push(record[0])
        d.values.push(record[1])
        d.places.push(i)
      }
      deals.forEach((d, j) => j === me ? take(d) : setup.peers![j]!.postMessage(d))
      post({ type: 'folded', seq: message.seq, count: out.length })
      return
    }
    // the end of the batch: every chunk's pairs of this thread's keys, in the stream's order
    const bases = message.bases!
    if (dealt.size < bases.length) await new Promise<void>(resolve => { complete = { count: bases.length, resolve } })
    complete = undefined
    const keys: unknown[] = []
    const values: unknown[] = []
    const places: number[] = []
    for (let seq = 0; seq < bases.length; seq++) {
      const d = dealt.get(seq)!
      for (let i = 0; i < d.keys.length; i++) {
        keys.push(d.keys[i])
        values.push(d.values[i])
        places.push(bases[seq] + d.places[i])
      }
    }
    dealt = new Map()
    keyed.ctx.batch = { time: message.time, interval: message.interval, more: false }
    const { records: outRecords, places: outPlaces, then } = part.batch(keys, values, places)
    const snapshot = message.snapshot ? part.snapshot?.() : undefined
    const size = part.size?.() ?? outRecords.length
    post({ type: 'keys', time: message.time, share: { out: { records: outRecords, places: outPlaces }, then, snapshots: part.snapshot !== undefined, snapshot, size, setAside: setAside() } })
  }
}

function failed (err: unknown): void {
  if (err instanceof DstreamError) post({ type: 'failed', message: err.message, exitCode: err.exitCode })
  else post({ type: 'failed', message: `internal error in a --partitions worker: ${(err as Error)?.stack ?? err}`, exitCode: EXIT_FAILURE })
}

// Messages are handled one at a time, in the order they came; after a failure none is
// (the main thread stops the run on the first).
let broken = false
const ready = start(workerData as WorkerSetup)
let queue: Promise<void> = ready.then(() => {}, err => { broken = true; failed(err) })
port.on('message', (message: ToWorker) => {
  queue = queue.then(async () => {
    if (broken) return
    try {
      await (await ready)(message)
    } catch (err) {
      broken = true
      failed(err)
    }
  })
})
