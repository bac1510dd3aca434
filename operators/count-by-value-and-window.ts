// Spark: DStream.countByValueAndWindow, which Spark computes as
// reduceByKeyAndWindow(_ + _, _ - _, ..., filter count != 0): incremental, and a
// value with no occurrences left in the window is dropped. numPartitions is accepted
// and ignored.
import { ACCEPTED_PARTITIONS_OPTION, ValueCounts } from '../lib/ops/keyed.js'
import { compileReducer } from '../lib/core/functions.js'
import { WINDOW_OPTIONS, WindowSpec, keyedWindowInstance, windowFold } from '../lib/ops/window.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface CountByValueAndWindowOptions { length?: string, slide?: string }

const countByValueAndWindow: OperatorDefinition<CountByValueAndWindowOptions> = {
  kind: 'operator',
  name: 'count-by-value-and-window',
  spark: 'countByValueAndWindow',
  group: 'windows',
  summary: 'a [value, count] pair for each distinct record of a sliding window',
  description: `
At every batch time that is a multiple of the slide, emits one [value, count] pair
per distinct record of the window: the batches with times in (time - length, time].
Output batches have that time and interval = slide; at other times nothing is
emitted. Windows at the start of a stream are partial, as in Spark. Records compare by
value, so arrays and objects work. A value with no occurrence left in the window is
dropped (Spark filters counts of 0 out). The counts are updated incrementally from one
table of counts per batch of the window, so the cost per batch does not grow with the
window length; the tables are checkpointed in the state directory. Values leave in the
order they entered the window. --length and --slide must be multiples of the input interval.`,
  positionals: [],
  options: { ...WINDOW_OPTIONS, ...ACCEPTED_PARTITIONS_OPTION },
  examples: [
    { command: 'count-by-value-and-window --length 2s', describe: 'how often each word occurred in the last two seconds', input: [['a'], ['b', 'b'], ['a', 'b'], []], output: [[['a', 1]], [['a', 1], ['b', 2]], [['b', 3], ['a', 1]], [['b', 1], ['a', 1]]] }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const spec = new WindowSpec(countByValueAndWindow, opts)
    const counts = new ValueCounts()
    return keyedWindowInstance(spec, windowFold(countByValueAndWindow, ctx, compileReducer('count'), {}), { fold: r => counts.add(r), take: () => counts.takeTable() })
  }
}

export default countByValueAndWindow
