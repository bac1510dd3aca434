// Spark: PairDStreamFunctions.groupByKey. One [key, [values...]] per key of a batch;
// Spark's numPartitions / partitioner have no meaning in one process and are not offered.
import { KeyedFold, ACCEPTED_PARTITIONS_OPTION } from '../lib/ops/keyed.js'
import type { OperatorDefinition } from '../lib/core/types.js'

// Grouping is a fold whose accumulator is the array of values.
const GROUP = {
  lift: (v: unknown) => [v],
  add: (vs: any, v: unknown) => { vs.push(v); return vs },
  merge: (a: any, b: any) => a.concat(b)
}

const groupByKey: OperatorDefinition = {
  kind: 'operator',
  name: 'group-by-key',
  spark: 'groupByKey',
  group: 'per batch',
  summary: 'a [key, [values...]] pair for each key of a batch',
  description: `
Records must be [key, value] pairs. For each batch, emits one [key, values] per key,
values being the array of the key's values in the order they came. Keys compare by
value, so array and object keys work; they leave in the order first seen. A record
that is not a pair is bad input. Chunks are grouped as they come; the groups leave
with the last. To reduce the values, reduce-by-key or combine-by-key do it without
holding them.`,
  positionals: [],
  options: ACCEPTED_PARTITIONS_OPTION,
  examples: [
    { command: 'group-by-key', describe: 'the values of each key', input: [[['a', 1], ['a', 1], ['b', 1]], [['', 1], ['', 1]], []], output: [[['a', [1, 1]], ['b', [1]]], [['', [1, 1]]], []] }
  ],
  input: 'chunks',
  init (_opts, ctx) {
    const fold = new KeyedFold(GROUP, ctx)
    return {
      onBatch (records, batch) {
        fold.fold(records)
        return batch.more ? undefined : fold.take()
      }
    }
  }
}

export default groupByKey
