// Spark: PairDStreamFunctions.updateStateByKey. FN(values, state) is Spark's
// (Seq[V], Option[S]) => Option[S]: values an array (maybe empty), state undefined
// for None; returning undefined or null is None and removes the key. FN also gets the
// key and the batch time, as Spark's (time, key, values, state) form does.
// Spark's partitioner and rememberPartitioner have no meaning in one process.
import { compileFunction } from '../lib/core/functions.js'
import { isPair } from '../lib/core/keys.js'
import { nameOf } from '../lib/durability/component.js'
import { PER_INPUT_PARTITION_TEXT, perInputPartition } from '../lib/systems/kafka/changelog.js'
import { KeyedState, loadInitial, pairsById } from '../lib/ops/state.js'
import { SKIP, type Context, type OperatorDefinition } from '../lib/core/types.js'

interface UpdateStateByKeyOptions { fn: string, initial?: string, partitions?: number }

const updateStateByKey: OperatorDefinition<UpdateStateByKeyOptions> = {
  kind: 'operator',
  name: 'update-state-by-key',
  spark: 'updateStateByKey',
  group: 'state',
  summary: 'a state per key, FN(values, state) => state on every batch; emits every [key, state]',
  description: `
Records are [key, value] pairs. Keeps a state for every key. On every batch, empty
ones too, calls FN(values, state, key, time) once for every key it holds or that the
batch brings: values is the array of the key's values in this batch (empty when the
batch has none), state the key's previous state (undefined for a new key), time the
batch time in ms. What FN returns is the key's new state; undefined or null removes
the key. Then emits every [key, state] it holds, in the order the keys were first
seen (a removed key that comes back counts as new). FN may change the state object
it is given and return it.

States must be JSON (they are checkpointed in the state directory after each batch,
and restored when the command starts again with the same --state-dir and --name).
--initial FILE gives the states to start from, [key, state] pairs as a JSON array
or NDJSON, read once at the start when there is no checkpoint to restore; FN is
called for those keys from the first batch on, as Spark's initialRDD.

A record that is not a pair is bad input (exit 65, or set aside with
--on-bad-input skip). When FN throws, the command stops with exit 65 naming the key
and the batch; with --on-error skip the key's values of that batch are set aside and
its state stays as it was.

With --partitions N (Spark's numPartitions) in a fused chain, the state is split by
a hash of the key over N worker threads: each keeps and updates its own keys, and
the map, flat-map, filter, map-values, flat-map-values right before it run in the
threads too; every pair goes to the thread that owns its key. The threads' outputs
are merged in first-seen order, so the output equals one thread's, whatever FN does
(each key's values keep their order and FN is called once per key, as on one
thread; only calls of different keys run side by side). The checkpoint is the
merged state, as on one thread, so a run may restart with another N. The default
is 1: on a 2-core machine two threads update 1,000,000 keys about 1.4x as fast as
one (npm run bench:spark), at about 35 MB and 50 ms a thread; give --partitions 2
to a fused chain short of CPU. After an operator that is not per-record it runs on
one thread and says so.
${PER_INPUT_PARTITION_TEXT.trim()}`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the update function: (values, state, key, time) => new state, or undefined/null to remove the key' }],
  options: {
    initial: { type: 'string', meta: 'FILE', describe: 'the states to start from: [key, state] pairs (a JSON array, or NDJSON)' },
    partitions: { type: 'number', meta: 'N', runOnly: true, describe: "Spark's numPartitions: the state split by key over N worker threads, the map, flat-map, filter before it in a fused chain with it (default 1)" }
  },
  examples: [
    { command: "update-state-by-key '(vs, s = 0) => s + vs.reduce((a, b) => a + b, 0)'", describe: 'the running word count: every word with its count so far, each batch', input: [[['a', 1]], [['a', 1], ['b', 1]], []], output: [[['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 1]]] },
    { command: "update-state-by-key '(vs, s) => vs.length ? vs.at(-1) : undefined'", describe: "each key's last value, forgotten after a batch without it", input: [[['a', 1], ['b', 2]], [['a', 3]], []], output: [[['a', 1], ['b', 2]], [['a', 3]], []] },
    { command: "update-state-by-key '(vs, s = 0) => s + vs.length' --initial counts.json", describe: 'running counts that start from the counts in a file' }
  ],
  input: 'batches',
  statePerInputPartition: true,
  init (opts, ctx) {
    const state = new KeyedState(loadInitial(updateStateByKey, opts.initial))
    const updater = stateUpdater(opts, ctx, state)
    // from a kafka source: the state kept per input partition, with a changelog topic
    return perInputPartition(updateStateByKey.name, nameOf(updateStateByKey, opts), ctx.stderr, pairsById(state), {
      onBatch (records) {
        for (const record of records) {
          if (!isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
          updater.add(record[0], record[1])
        }
        return updater.update()
      },
      snapshot: () => state.snapshot(),
      keys: () => state.size,
      restore: saved => state.restore(saved)
    })
  },
  keyedPart (opts, ctx, owns) {
    const state = new KeyedState(loadInitial(updateStateByKey, opts.initial), owns)
    const updater = stateUpdater(opts, ctx, state)
    return {
      batch (keys, values, places) {
        for (let i = 0; i < keys.length; i++) updater.add(keys[i], values[i], places[i])
        const firsts: number[] = []
        return { records: updater.update(firsts), places: firsts }
      },
      restore: saved => state.restore(saved)
    }
  }
}

/** The update of a batch: the values added key by key, then FN once for every key held. */
function stateUpdater (opts: UpdateStateByKeyOptions, ctx: Context, state: KeyedState) {
  const fn = compileFunction(opts.fn, ctx.scope, 'update function')
  // one argument, so a throw names the key, its values and its state
  const update = ctx.guard((call: { key: unknown, values: unknown[], state: unknown }) => fn(call.values, call.state, call.key, ctx.batch!.time))
  return {
    /** `place`: the record's place in the stream, kept by a key new to the state (--partitions) */
    add (key: unknown, value: unknown, place?: number): void {
      // each key's values ride on its entry: one table lookup a record
      const entry = state.entry(key, place)
      if (entry.values === undefined) entry.values = [value]
      else entry.values.push(value)
    },
    /** FN for every key held; every [key, state] after it, in first-seen order (`firsts`: each key's first-seen place). */
    update (firsts?: number[]): Array<[unknown, unknown]> {
      const out: Array<[unknown, unknown]> = []
      for (const [id, entry] of state.entries()) {
        const values = entry.values ?? []
        entry.values = undefined
        const next = update({ key: entry.key, values, state: entry.state })
        // skipped: the state stays as it was (a new key stays without one)
        if (next === SKIP) {
          if (entry.state === undefined) { state.remove(id); continue }
        } else if (next === undefined || next === null) {
          state.remove(id)
          continue
        } else entry.state = next
        out.push([entry.key, entry.state])
        firsts?.push(entry.first!)
      }
      return out
    }
  }
}

export default updateStateByKey
