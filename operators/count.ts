// Spark: DStream.count. One record per batch, its number of records; 0 for an
// empty batch, as Spark (which unions in a zero for that reason).
import type { OperatorDefinition } from '../lib/core/types.js'

const count: OperatorDefinition = {
  kind: 'operator',
  name: 'count',
  spark: 'count',
  group: 'per batch',
  summary: 'the number of records of each batch',
  description: `
Replaces each batch by a batch of one record: the number of records it had. An
empty batch gives [0], as in Spark, so the count never skips an interval. Any
record counts, whatever its shape. Chunks are counted as they come; the count
leaves with the last.`,
  positionals: [],
  options: {},
  examples: [
    { command: 'count', describe: 'records per batch', input: [[], ['a'], ['a', 'b'], ['a', 'b', 'c']], output: [[0], [1], [2], [3]] }
  ],
  input: 'chunks',
  init () {
    let n = 0
    return {
      onBatch (records, batch) {
        n += records.length
        if (batch.more) return undefined
        const out = [n]
        n = 0
        return out
      }
    }
  }
}

export default count
