// Spark: PairDStreamFunctions.updateStateByKey. FN(values, state) is Spark's
// (Seq[V], Option[S]) => Option[S]: values an array (maybe empty), state undefined
// for None; returning undefined or null is None and removes the key. FN also gets the
// key and the batch time, as Spark's (time, key, values, state) form does.
// Spark's partitioner and rememberPartitioner have no meaning in one process.
import { compileFunction } from '../lib/core/functions.js'
import { isPair } from '../lib/core/keys.js'
import { KeyedState, loadInitial } from '../lib/ops/state.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface UpdateStateByKeyOptions { fn: string, initial?: string }

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
its state stays as it was.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the update function: (values, state, key, time) => new state, or undefined/null to remove the key' }],
  options: {
    initial: { type: 'string', meta: 'FILE', describe: 'the states to start from: [key, state] pairs (a JSON array, or NDJSON)' }
  },
  examples: [
    { command: "update-state-by-key '(vs, s = 0) => s + vs.reduce((a, b) => a + b, 0)'", describe: 'the running word count: every word with its count so far, each batch', input: [[['a', 1]], [['a', 1], ['b', 1]], []], output: [[['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 1]]] },
    { command: "update-state-by-key '(vs, s) => vs.length ? vs.at(-1) : undefined'", describe: "each key's last value, forgotten after a batch without it", input: [[['a', 1], ['b', 2]], [['a', 3]], []], output: [[['a', 1], ['b', 2]], [['a', 3]], []] },
    { command: "update-state-by-key '(vs, s = 0) => s + vs.length' --initial counts.json", describe: 'running counts that start from the counts in a file' }
  ],
  input: 'batches',
  init (opts, ctx) {
    const fn = compileFunction(opts.fn, ctx.scope, 'update function')
    const state = new KeyedState(loadInitial(updateStateByKey, opts.initial))
    // one argument, so a throw names the key, its values and its state
    const update = ctx.guard((call: { key: unknown, values: unknown[], state: unknown }) => fn(call.values, call.state, call.key, ctx.batch!.time))
    return {
      onBatch (records) {
        const values = new Map<string, unknown[]>()
        for (const record of records) {
          if (!isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
          const id = state.touch(record[0])
          const vs = values.get(id)
          if (vs) vs.push(record[1])
          else values.set(id, [record[1]])
        }
        for (const [id, entry] of state.entries()) {
          const next = update({ key: entry.key, values: values.get(id) ?? [], state: entry.state })
          // skipped: the state stays as it was (a new key stays without one)
          if (next === SKIP) { if (entry.state === undefined) state.remove(id); continue }
          if (next === undefined || next === null) state.remove(id)
          else entry.state = next
        }
        return state.pairs()
      },
      snapshot: () => state.snapshot(),
      keys: () => state.size,
      restore: saved => state.restore(saved)
    }
  }
}

export default updateStateByKey
