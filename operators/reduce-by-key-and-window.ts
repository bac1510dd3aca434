// Spark: PairDStreamFunctions.reduceByKeyAndWindow, with and without invReduceFunc
// and filterFunc (ReducedWindowedDStream). Windows end at batch times that are
// multiples of the slide; the arithmetic, incremental or not, is in lib/ops/window.ts.
import { BUILTIN_REDUCERS, compileReducer } from '../lib/core/functions.js'
import { KeyedFold, PARTITIONS_OPTION, PARTITIONS_TEXT } from '../lib/ops/keyed.js'
import { FILTER_OPTION, INVERSE_OPTION, WINDOW_OPTIONS, WindowSpec, keyedWindowInstance, windowFold, type KeyedView } from '../lib/ops/window.js'
import { nameOf } from '../lib/durability/component.js'
import { PER_INPUT_PARTITION_TEXT, perInputPartition } from '../lib/systems/kafka/changelog.js'
import type { Instance, OperatorDefinition } from '../lib/core/types.js'

interface ReduceByKeyAndWindowOptions { fn: string, length?: string, slide?: string, inverse?: string, filter?: string }

const reduceByKeyAndWindow: OperatorDefinition<ReduceByKeyAndWindowOptions> = {
  kind: 'operator',
  name: 'reduce-by-key-and-window',
  spark: 'reduceByKeyAndWindow',
  group: 'windows',
  summary: 'the values of each key over a sliding window reduced with FN',
  description: `
Records must be [key, value] pairs. At every batch time that is a multiple of the
slide, emits one [key, value] per key of the window: the batches with times in
(time - length, time]. Output batches have that time and interval = slide; at other
times nothing is emitted. Windows at the start of a stream are partial, as in Spark.
FN is an associative function of two values or a built-in: ${Object.entries(BUILTIN_REDUCERS).map(([n, r]) => `${n} (${r.describe})`).join(', ')}.

Without --inverse the result equals reducing the window from scratch: a key with no
values left in the window is gone. sum and count are computed incrementally all the
same (their inverse is known), so their cost per batch does not grow with the window;
any other FN folds the per-batch results of every batch of the window (as Spark does).
With a fractional sum the last digits may differ from a recomputation, as with any
running sum.

With --inverse FN (e.g. '(a, b) => a - b'), Spark's incremental semantics: the
window's value is the previous window's, with the batches that left taken out by the
inverse and those that came in added by FN; keys whose value is reduced back to the
identity stay (e.g. ["a", 0]) until --filter drops them. A key the filter drops starts
again from the batches that come in after it.

Only per-batch results are kept, one per batch of the window, never the records.
The state (those results and the running window) is checkpointed in the state
directory; a checkpoint holds the whole window, so for long windows give
--checkpoint-every N. Keys compare by value; the order of keys in a window is the order they
entered it. --length and --slide must be multiples of the input interval.

With --partitions N (Spark's numPartitions) each batch is folded on N worker threads,
each folding its share of the batch's chunks; the shares of a key are reduced with FN,
and the batch's result goes into the window here, as without threads (the window and
its checkpoints are the same). ${PARTITIONS_TEXT}
${PER_INPUT_PARTITION_TEXT.trim()}`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the reduce function (a, b) => c, or sum, min, max, concat, count' }],
  options: { ...WINDOW_OPTIONS, ...INVERSE_OPTION, ...FILTER_OPTION, ...PARTITIONS_OPTION },
  examples: [
    { command: 'reduce-by-key-and-window sum --length 2s', describe: 'the word count of the last two seconds, every second', input: [[['a', 1]], [['a', 1], ['b', 1]], [], []], output: [[['a', 1]], [['a', 2], ['b', 1]], [['a', 1], ['b', 1]], []] },
    { command: "reduce-by-key-and-window '(a, b) => a + b' --inverse '(a, b) => a - b' --length 2s", describe: "Spark's incremental form: keys stay at 0", input: [[['a', 1]], [['a', 1], ['b', 1]], [], []], output: [[['a', 1]], [['a', 2], ['b', 1]], [['a', 1], ['b', 1]], [['a', 0], ['b', 0]]] },
    { command: "reduce-by-key-and-window '(a, b) => a + b' --inverse '(a, b) => a - b' --filter '([k, v]) => v != 0' --length 4s --slide 2s", describe: 'every 2 seconds, the last 4, keys at 0 dropped', input: [[['a', 1]], [['a', 2]], [['b', 3]], [], [], []], output: [[['a', 3]], [['a', 3], ['b', 3]], [['b', 3]]] }
  ],
  input: 'chunks',
  statePerInputPartition: true,
  combiner: (opts, scope) => compileReducer(opts.fn, scope),
  init (opts, ctx) {
    const spec = new WindowSpec(reduceByKeyAndWindow, opts)
    const reducer = reduceByKeyAndWindow.combiner!(opts, ctx.scope)
    const batch = new KeyedFold(reducer, ctx)
    // from a kafka source: the window kept per input partition, with a changelog topic
    const keyed = (view: KeyedView, inner: Instance) => perInputPartition(reduceByKeyAndWindow.name, nameOf(reduceByKeyAndWindow, opts), ctx.stderr, view, inner)
    return keyedWindowInstance(spec, windowFold(reduceByKeyAndWindow, ctx, reducer, opts), { fold: r => batch.fold(r), take: () => batch.takeTable() }, undefined, keyed)
  }
}

export default reduceByKeyAndWindow
