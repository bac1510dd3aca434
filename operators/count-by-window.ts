// Spark: DStream.countByWindow (map(_ => 1L).reduceByWindow(_ + _, _ - _, ...)).
// One difference: Spark's gives an empty batch for windows before the first record
// (its reduceByWindow has no value yet); this one gives [0], as dstream's count does
// for an empty batch, so every window end has its number.
import { compileReducer } from '../lib/core/functions.js'
import { ONE, WINDOW_OPTIONS, WindowSpec, keyedWindowInstance, windowFold } from '../lib/ops/window.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface CountByWindowOptions { length?: string, slide?: string }

const countByWindow: OperatorDefinition<CountByWindowOptions> = {
  kind: 'operator',
  name: 'count-by-window',
  spark: 'countByWindow',
  group: 'windows',
  summary: 'the number of records of a sliding window',
  description: `
At every batch time that is a multiple of the slide, emits a batch of one record: the
number of records of the window, the batches with times in (time - length, time];
[0] for a window without records (Spark gives nothing for the windows before its first
record). Output batches have that time and interval = slide; at other times nothing
is emitted. Windows at the start of a stream are partial, as in Spark. Any record
counts. The count is kept incrementally from one number per batch of the window,
checkpointed in the state directory. --length and --slide must be multiples of the
input interval.`,
  positionals: [],
  options: WINDOW_OPTIONS,
  examples: [
    { command: 'count-by-window --length 2s', describe: 'records of the last two seconds, every second', input: [[1], [1], [1, 2], [0], [], []], output: [[1], [2], [3], [3], [1], [0]] }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const spec = new WindowSpec(countByWindow, opts)
    let n = 0
    const batch = {
      fold: (records: unknown[]) => { n += records.length },
      take: () => {
        const table = new Map<string, [unknown, unknown]>(n > 0 ? [[ONE, [1, n]]] : [])
        n = 0
        return table
      }
    }
    return keyedWindowInstance(spec, windowFold(countByWindow, ctx, compileReducer('sum'), {}), batch, pairs => [pairs.length ? pairs[0][1] : 0])
  }
}

export default countByWindow
