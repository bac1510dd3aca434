// Spark: DStream.reduceByWindow. Without invReduceFunc Spark reduces the window
// (window(...).reduce): an empty window gives an empty batch. With it, Spark maps
// records to (1, r) and runs reduceByKeyAndWindow, so once a value was seen a window
// always has one (e.g. [0] for a sum whose records all left). Both are mirrored.
import { BUILTIN_REDUCERS, compileReducer } from '../lib/core/functions.js'
import { INVERSE_OPTION, ValueFold, WINDOW_OPTIONS, WindowSpec, keyedWindowInstance, windowFold } from '../lib/ops/window.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface ReduceByWindowOptions { fn: string, length?: string, slide?: string, inverse?: string }

const reduceByWindow: OperatorDefinition<ReduceByWindowOptions> = {
  kind: 'operator',
  name: 'reduce-by-window',
  spark: 'reduceByWindow',
  group: 'windows',
  summary: 'the records of a sliding window reduced with FN to one record',
  description: `
At every batch time that is a multiple of the slide, emits a batch of one record: the
records of the window (the batches with times in (time - length, time]) folded with
FN, an associative function of two records, or a built-in: ${Object.entries(BUILTIN_REDUCERS).map(([n, r]) => `${n} (${r.describe})`).join(', ')}.
Output batches have that time and interval = slide; at other times nothing is
emitted. Windows at the start of a stream are partial, as in Spark.

Without --inverse an empty window gives an empty batch, as reducing it from scratch
would (sum and count are still computed incrementally). With --inverse FN, Spark's
incremental semantics: the previous window's value, the batches that left taken out
with the inverse, those that came in added with FN; once a record was seen, every
window has a value, e.g. [0] for a sum whose records all left. One result per batch
of the window is kept and checkpointed, never the records. A record the built-in
cannot take (sum of a string) is bad input. --length and --slide must be multiples
of the input interval.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the reduce function (a, b) => c, or sum, min, max, concat, count' }],
  options: { ...WINDOW_OPTIONS, ...INVERSE_OPTION },
  examples: [
    { command: 'reduce-by-window sum --length 4s --slide 2s', describe: 'every 2 seconds, the sum of the last 4', input: [[1], [2], [3], [4], [], [], [], []], output: [[3], [10], [7], []] },
    { command: "reduce-by-window '(a, b) => a + b' --inverse '(a, b) => a - b' --length 4s --slide 2s", describe: "Spark's incremental form: a value once seen stays", input: [[1], [2], [3], [4], [], [], [], []], output: [[3], [10], [7], [0]] }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const spec = new WindowSpec(reduceByWindow, opts)
    const reducer = compileReducer(opts.fn, ctx.scope)
    return keyedWindowInstance(spec, windowFold(reduceByWindow, ctx, reducer, opts), new ValueFold(reducer, ctx), pairs => pairs.map(p => p[1]))
  }
}

export default reduceByWindow
