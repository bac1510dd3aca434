// One worker thread of --partitions (lib/engine/partitions.ts). It runs the
// per-record operators in front of a keyed fold (flat-map, map, filter) on the
// chunks it is handed, folds what they emit by key, and at the end of each batch
// hands back its share: every key with its accumulator and the chunk the key first
// came in, so that the shares merge in the order one fold would have seen the keys.
import path from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { OperatorContext } from './context.js'
import { DeadLetter } from '../durability/deadLetter.js'
import { DstreamError, EXIT_FAILURE } from '../core/errors.js'
import { loadScope } from '../core/functions.js'
import { KeyedFold } from '../ops/keyed.js'
import type { Common, Instance, OperatorDefinition } from '../core/types.js'

/** A stage as the worker rebuilds it: the module that exports its definition, and its options. */
export interface WorkerStage { module: string, opts: Record<string, any> & Common }

export interface WorkerSetup { prefix: WorkerStage[], keyed: WorkerStage }

/** From the main thread: a chunk to fold (numbered in the order it came), or the end of a batch. */
export type ToWorker =
  | { type: 'chunk', seq: number, time: number, interval: number, records: unknown[] }
  | { type: 'end', time: number }

/** A worker's part of a batch: parallel arrays, in the order the keys entered its table. */
export interface Share { ids: string[], keys: unknown[], accs: unknown[], firsts: number[], setAside: number[] }

export type FromWorker =
  | { type: 'folded', seq: number }
  | { type: 'share', time: number, share: Share }
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
  const fold = new KeyedFold(keyed.def.combiner!(setup.keyed.opts, keyed.part.ctx.scope), keyed.part.ctx)
  const parts = [...prefix.map(p => p.part), keyed.part]
  // the table's size after each chunk: keys past the previous size came in that chunk
  let bounds: Array<[seq: number, size: number]> = []

  return async message => {
    if (message.type === 'chunk') {
      const { seq, time, interval } = message
      let records = message.records
      for (const { instance, part: p } of prefix) {
        p.ctx.batch = { time, interval, more: true }
        const out = await instance.onBatch(records, p.ctx.batch)
        records = out ?? []
      }
      keyed.part.ctx.batch = { time, interval, more: true }
      fold.fold(records)
      bounds.push([seq, fold.size])
      post({ type: 'folded', seq })
      return
    }
    const table = fold.takeTable()
    const share: Share = { ids: [], keys: [], accs: [], firsts: [], setAside: [] }
    let b = 0
    for (const [id, [key, acc]] of table) {
      while (bounds[b][1] <= share.ids.length) b++
      share.ids.push(id)
      share.keys.push(key)
      share.accs.push(acc)
      share.firsts.push(bounds[b][0])
    }
    bounds = []
    for (const p of parts) {
      share.setAside.push(p.deadLetter.count - p.reported)
      p.reported = p.deadLetter.count
    }
    post({ type: 'share', time: message.time, share })
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
