// Spark: DStream.glom. Spark gives one array per partition; a dstream batch is one
// partition, so each batch becomes a batch of exactly one record.
import type { OperatorDefinition } from '../lib/core/types.js'

const glom: OperatorDefinition = {
  kind: 'operator',
  name: 'glom',
  spark: 'glom',
  group: 'per batch',
  summary: 'each batch as one record: the array of its records',
  description: `
Replaces each batch by a batch of one record, the array of all its records in
order. Spark's glom gives one array per partition; here a batch is one partition,
so there is always exactly one array, and an empty batch gives [[]] (one empty
array), as an empty Spark partition does. A batch sent in chunks is held until
its last chunk.`,
  positionals: [],
  options: {},
  examples: [
    { command: 'glom', describe: 'every batch as one array', input: [[1, 2, 3], []], output: [[[1, 2, 3]], [[]]] }
  ],
  // the output record is the whole batch, so there is nothing to gain from chunks
  input: 'batches',
  init () {
    return {
      onBatch (records) {
        return [records]
      }
    }
  }
}

export default glom
