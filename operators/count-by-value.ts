// Spark: DStream.countByValue. One [value, count] per distinct value of a batch;
// Spark's numPartitions has no meaning in one process and is not offered.
import { ACCEPTED_PARTITIONS_OPTION, ValueCounts } from '../lib/ops/keyed.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const countByValue: OperatorDefinition = {
  kind: 'operator',
  name: 'count-by-value',
  spark: 'countByValue',
  group: 'per batch',
  summary: 'a [value, count] pair for each distinct record of a batch',
  description: `
For each batch, emits one [value, count] pair per distinct record, counting how
often it occurs in the batch. Records compare by value, so arrays and objects work
({"a":1,"b":2} and {"b":2,"a":1} are one value). Pairs leave in the order their
values were first seen. Any record is a value. Chunks are counted as they come;
the counts leave with the last.`,
  positionals: [],
  options: ACCEPTED_PARTITIONS_OPTION,
  examples: [
    { command: 'count-by-value', describe: 'how often each word occurs', input: [['a', 'b', 'a'], []], output: [[['a', 2], ['b', 1]], []] },
    { command: 'count-by-value', describe: 'arrays compare by value', input: [[[1, 2], [2, 1], [1, 2]]], output: [[[[1, 2], 2], [[2, 1], 1]]] }
  ],
  input: 'chunks',
  init () {
    const counts = new ValueCounts()
    return {
      onBatch (records, batch) {
        counts.add(records)
        return batch.more ? undefined : counts.take()
      }
    }
  }
}

export default countByValue
