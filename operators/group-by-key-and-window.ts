// Spark: PairDStreamFunctions.groupByKeyAndWindow (groupByKey per batch, window,
// groups of the window concatenated). numPartitions is accepted and ignored.
import { KeyedFold, ACCEPTED_PARTITIONS_OPTION } from '../lib/ops/keyed.js'
import { WINDOW_OPTIONS, WindowSpec, keyedWindowInstance } from '../lib/ops/window.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface GroupByKeyAndWindowOptions { length?: string, slide?: string }

// A batch's groups are folds whose accumulator is the array of values; a window
// concatenates them, oldest batch first (a new array: the batch's stays as it is).
const GROUP = {
  lift: (v: unknown) => [v],
  add: (vs: any, v: unknown) => { vs.push(v); return vs },
  merge: (a: any, b: any) => a.concat(b)
}

const groupByKeyAndWindow: OperatorDefinition<GroupByKeyAndWindowOptions> = {
  kind: 'operator',
  name: 'group-by-key-and-window',
  spark: 'groupByKeyAndWindow',
  group: 'windows',
  summary: 'a [key, [values...]] pair for each key of a sliding window',
  description: `
Records must be [key, value] pairs. At every batch time that is a multiple of the
slide, emits one [key, values] per key of the window: the batches with times in
(time - length, time]; values in the order of their batches, then of their arrival.
Output batches have that time and interval = slide; at other times nothing is
emitted. Windows at the start of a stream are partial, as in Spark. A record that is
not a pair is bad input. Keys compare by value; they leave in the order first seen in
the window. The values of every batch of the window are held (and checkpointed in the
state directory: for long windows give --checkpoint-every N), so memory grows with
the window: to reduce the values,
reduce-by-key-and-window does it keeping one result per key and batch.
--length and --slide must be multiples of the input interval.`,
  positionals: [],
  options: { ...WINDOW_OPTIONS, ...ACCEPTED_PARTITIONS_OPTION },
  examples: [
    { command: 'group-by-key-and-window --length 2s', describe: 'the values of each key in the last two seconds', input: [[['a', 1]], [['a', 2], ['b', 3]], [['b', 4]]], output: [[['a', [1]]], [['a', [1, 2]], ['b', [3]]], [['a', [2]], ['b', [3, 4]]]] }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const spec = new WindowSpec(groupByKeyAndWindow, opts)
    const batch = new KeyedFold(GROUP, ctx)
    return keyedWindowInstance(spec, { merge: GROUP.merge, dropEmpty: true, copy: false }, { fold: r => batch.fold(r), take: () => batch.takeTable() })
  }
}

export default groupByKeyAndWindow
