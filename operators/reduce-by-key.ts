// Spark: PairDStreamFunctions.reduceByKey. One [k, v] per key and batch, the values
// folded with FN. Chunks are folded as they come; the result leaves with the last.
import { compileReducer, BUILTIN_REDUCERS } from '../lib/core/functions.js'
import { KeyedFold, PARTITIONS_OPTION, PARTITIONS_TEXT } from '../lib/ops/keyed.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface ReduceByKeyOptions { fn: string }

const reduceByKey: OperatorDefinition<ReduceByKeyOptions> = {
  kind: 'operator',
  name: 'reduce-by-key',
  spark: 'reduceByKey',
  group: 'per batch',
  summary: 'the values of each key in a batch reduced with FN',
  description: `
Records must be [key, value] pairs. For each batch, emits one [key, value] per key,
whose value is the key's values folded with FN (an associative function of two
values) or a built-in: ${Object.entries(BUILTIN_REDUCERS).map(([n, r]) => `${n} (${r.describe})`).join(', ')}.
Keys compare by value, so array and object keys work; they leave in the order first
seen. A record that is not a pair is bad input.

With --partitions N (Spark's numPartitions) the fold runs on N worker threads, each
folding its share of a batch's chunks, and the shares of a key are reduced with FN
at the end of the batch. ${PARTITIONS_TEXT}`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the reduce function (a, b) => c, or sum, min, max, concat, count' }],
  options: PARTITIONS_OPTION,
  examples: [
    { command: 'reduce-by-key sum', describe: 'the word count', input: [[['a', 1], ['b', 1], ['a', 1]], []], output: [[['a', 2], ['b', 1]], []] },
    { command: "reduce-by-key '(a, b) => a > b ? a : b'", describe: 'the largest value of each key', input: [[['x', 3], ['y', 1], ['x', 7]]], output: [[['x', 7], ['y', 1]]] }
  ],
  input: 'chunks',
  combiner: (opts, scope) => compileReducer(opts.fn, scope),
  init (opts, ctx) {
    const fold = new KeyedFold(reduceByKey.combiner!(opts, ctx.scope), ctx)
    return {
      onBatch (records, batch) {
        fold.fold(records)
        return batch.more ? undefined : fold.take()
      },
      onCombined: table => [...table.values()]
    }
  }
}

export default reduceByKey
