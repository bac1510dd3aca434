// Spark: PairDStreamFunctions.mapWithState with StateSpec.function, .timeout,
// .initialState, and MapWithStateDStream.stateSnapshots (--snapshots). FN is Spark's
// (time, key, Option[value], State) => Option[mapped] with the arguments in the
// order key, value, state, time: value is undefined where Spark has None (a key
// timing out), and an undefined result is None (nothing emitted). Differences: state.get()
// of a key without state returns undefined (Spark throws NoSuchElementException);
// timeouts are checked at every batch (Spark checks them only at its checkpoints,
// every tenth batch by default), so a key times out at the first batch more than
// DUR after its last update.
import { parseDuration } from '../lib/core/durations.js'
import { UsageError, usage } from '../lib/core/errors.js'
import { compileFunction } from '../lib/core/functions.js'
import { isPair, keyOf } from '../lib/core/keys.js'
import { KeyedState, loadInitial, pairsById } from '../lib/ops/state.js'
import { nameOf } from '../lib/durability/component.js'
import { PER_INPUT_PARTITION_TEXT, perInputPartition } from '../lib/systems/kafka/changelog.js'
import { SKIP, type Context, type OperatorDefinition } from '../lib/core/types.js'

interface MapWithStateOptions { fn: string, timeout?: string, initial?: string, snapshots?: boolean, partitions?: number }

/** Spark's State[S] for one call of FN; changes take effect only when FN returns. */
class State {
  updated = false
  removed = false
  constructor (private value: unknown, private readonly timingOut: boolean) {}
  exists (): boolean { return this.value !== undefined }
  get (): unknown { return this.value }
  isTimingOut (): boolean { return this.timingOut }
  update (value: unknown): void {
    this.refuse('update')
    if (value === undefined || value === null) throw new TypeError('state.update() needs a value: use state.remove() to remove the state')
    this.value = value
    this.updated = true
  }

  remove (): void {
    this.refuse('remove')
    this.value = undefined
    this.removed = true
  }

  private refuse (what: string): void {
    if (this.timingOut) throw new Error(`cannot ${what} the state of a key that is timing out (it is removed after this call)`)
    if (this.removed) throw new Error(`cannot ${what} a state that has been removed`)
  }

  /** how the state shows in an error message or the dead-letter file */
  toJSON (): unknown { return this.value }
}

const mapWithState: OperatorDefinition<MapWithStateOptions> = {
  kind: 'operator',
  name: 'map-with-state',
  spark: 'mapWithState / stateSnapshots',
  group: 'state',
  summary: 'FN(key, value, state, time) for every record, with a state per key; emits what FN returns',
  description: `
Records are [key, value] pairs. For every record of a batch, in order, calls
FN(key, value, state, time), time being the batch time in ms, and emits what FN
returns; undefined emits nothing (Spark's None), anything else, null too, is
emitted. state is the key's state:

  state.exists()       whether the key has a state
  state.get()          the state, or undefined when there is none
  state.update(v)      sets the state (v must be JSON, not undefined or null)
  state.remove()       removes it
  state.isTimingOut()  true in the call for a key that timed out (see --timeout)

Changes to the state take effect when FN returns; when FN throws, the command stops
with exit 65 naming the key and the batch, or with --on-error skip the record is set
aside and the state stays as it was.

--timeout DUR: a key whose state has not been updated, nor had a record, for more
than DUR (by batch time: at the first batch later than its last update time + DUR)
is called once more, after the batch's records, with value undefined and
state.isTimingOut() true, and then removed; in that call update() and remove()
throw, as in Spark. Timeouts are checked at every batch.

--initial FILE: the states to start from, [key, state] pairs as a JSON array or
NDJSON, read once at the start when there is no checkpoint to restore; their idle
time counts from the first batch.

--snapshots: emit, instead of FN's results, every [key, state] held after the
batch, keys in the order first seen (Spark's stateSnapshots()).

States are checkpointed in the state directory after each batch with their last
update times, and restored when the command starts again with the same --state-dir
and --name. The sessions job: running counts from an initial state, keys idle for
10 s forgotten, state snapshots printed:

  dstream map-with-state --initial initial.json --timeout 10s --snapshots \\
    '(w, one, state) => { if (!state.isTimingOut()) state.update((state.get() ?? 0) + one) }'

with initial.json holding [["flink", 100], ["sparkstreaming", 32]].

With --partitions N (Spark's numPartitions) in a fused chain, the state is split by
a hash of the key over N worker threads: each keeps its own keys and calls FN for
their records, in order, and the map, flat-map, filter, map-values, flat-map-values
right before it run in the threads too. The results are merged into the order of
one thread (by record, then the keys timing out by first-seen order), so the output
equals one thread's; the checkpoint is the threads' states merged, as on one thread,
so a run may restart with another N. The default is 1 (see update-state-by-key's
figures; give --partitions 2 to a fused chain short of CPU). After an operator that
is not per-record it runs on one thread and says so.
${PER_INPUT_PARTITION_TEXT.trim()}`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the mapping function: (key, value, state, time) => output, or undefined for none' }],
  options: {
    timeout: { type: 'string', meta: 'DUR', describe: 'forget a key idle for longer than DUR (FN is called for it with isTimingOut() true)' },
    initial: { type: 'string', meta: 'FILE', describe: 'the states to start from: [key, state] pairs (a JSON array, or NDJSON)' },
    snapshots: { type: 'boolean', describe: "emit every [key, state] after each batch instead of FN's results (stateSnapshots)" },
    partitions: { type: 'number', meta: 'N', runOnly: true, describe: "Spark's numPartitions: the state split by key over N worker threads, the map, flat-map, filter before it in a fused chain with it (default 1)" }
  },
  examples: [
    {
      command: "map-with-state '(k, v, state) => { const sum = v + (state.get() ?? 0); state.update(sum); return [k, sum] }'",
      describe: 'the running count of each key, emitted for each record',
      input: [[['a', 1]], [['a', 1], ['b', 1]], []],
      output: [[['a', 1]], [['a', 2], ['b', 1]], []]
    },
    {
      command: "map-with-state --snapshots '(k, v, state) => { state.update(v + (state.get() ?? 0)) }'",
      describe: 'the same counts as state snapshots: every key, every batch',
      input: [[['a', 1]], [['a', 1], ['b', 1]], []],
      output: [[['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 1]]]
    },
    { command: "map-with-state --timeout 30m '(user, page, state) => state.isTimingOut() ? [user, state.get()] : state.update([...(state.get() ?? []), page])'", describe: 'the pages of each session, emitted when the user has been idle for 30 minutes' }
  ],
  input: 'batches',
  statePerInputPartition: true,
  init (opts, ctx) {
    const table = new KeyedState(loadInitial(mapWithState, opts.initial))
    const mapper = stateMapper(opts, ctx, table)
    // from a kafka source: the state kept per input partition, with a changelog topic
    return perInputPartition(mapWithState.name, nameOf(mapWithState, opts), ctx.stderr, pairsById(table, true), {
      onBatch (records, batch) {
        const keys: unknown[] = []
        const values: unknown[] = []
        for (const record of records) {
          if (!isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
          keys.push(record[0])
          values.push(record[1])
        }
        const out = mapper.batch(keys, values, undefined, batch.time)
        return opts.snapshots ? table.pairs() : [...out.results, ...out.timedOut]
      },
      snapshot: () => table.snapshot(true),
      keys: () => table.size,
      restore: saved => table.restore(saved)
    })
  },
  keyedPart (opts, ctx, owns) {
    const table = new KeyedState(loadInitial(mapWithState, opts.initial), owns)
    const mapper = stateMapper(opts, ctx, table)
    const held = (withTime: boolean) => ({ records: table.snapshot(withTime), places: table.firsts() })
    return {
      batch (keys, values, places) {
        const out = mapper.batch(keys, values, places, ctx.batch!.time)
        if (opts.snapshots) return held(false)
        // FN's results by the places of their records, then the timed-out keys' by first-seen place
        return { records: out.results, places: out.resultPlaces, then: { records: out.timedOut, places: out.timedOutFirsts } }
      },
      snapshot: () => held(true),
      size: () => table.size,
      restore: saved => table.restore(saved)
    }
  }
}

/**
 * A batch through FN: the keys' records in order (`places`: their places in the
 * stream, for --partitions), then the keys timing out. What FN returned for the
 * records, and for the keys that timed out, with where each belongs in the order of
 * one thread's output.
 */
function stateMapper (opts: MapWithStateOptions, ctx: Context, table: KeyedState) {
  const fn = compileFunction(opts.fn, ctx.scope, 'mapping function')
  let timeout: number | undefined
  try {
    timeout = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, '--timeout')
  } catch (err) {
    throw err instanceof UsageError ? usage(mapWithState, err.message) : err
  }
  // one argument, so a throw names the key, the value and the state
  const call = ctx.guard((c: { key: unknown, value: unknown, state: State }) => fn(c.key, c.value, c.state, ctx.batch!.time))
  return {
    batch (keys: unknown[], values: unknown[], places: number[] | undefined, time: number) {
      const results: unknown[] = []
      const resultPlaces: number[] = []
      const timedOut: unknown[] = []
      const timedOutFirsts: number[] = []
      for (const [, e] of table.entries()) e.time ??= time // --initial states start their idle time now
      for (let i = 0; i < keys.length; i++) {
        const id = keyOf(keys[i])
        const entry = table.get(id)
        const state = new State(entry?.state, false)
        const result = call({ key: keys[i], value: values[i], state })
        if (result === SKIP) continue
        if (state.removed) table.remove(id)
        else if (state.exists()) {
          const e = entry ?? table.entry(keys[i], places?.[i])
          e.state = state.get()
          e.time = time
        }
        if (result !== undefined) {
          results.push(result)
          if (places) resultPlaces.push(places[i])
        }
      }
      if (timeout !== undefined) {
        for (const [id, e] of table.entries()) {
          if (time - e.time! <= timeout) continue
          const result = call({ key: e.key, value: undefined, state: new State(e.state, true) })
          table.remove(id)
          if (result !== SKIP && result !== undefined) {
            timedOut.push(result)
            if (places) timedOutFirsts.push(e.first!)
          }
        }
      }
      return { results, resultPlaces, timedOut, timedOutFirsts }
    }
  }
}

export default mapWithState
