// Spark: PairDStreamFunctions.cogroup (two streams), or transform + RDD.cogroup with
// a static dataset. Spark's pair of Iterables is a pair of arrays.
import { JOIN_DESCRIPTION, JOIN_OPTIONS, startJoin, type JoinOptions } from '../lib/ops/join.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const cogroup: OperatorDefinition<JoinOptions> = {
  kind: 'operator',
  name: 'cogroup',
  spark: 'cogroup',
  group: 'per batch',
  summary: 'batch by batch, [k, [[v...], [w...]]] for every key on either side',
  description: `
Records are [k, v] pairs. For every batch, emits one [k, [vs, ws]] for every key k
in the batch or on the right side, vs being the array of k's values in the batch and
ws those on the right side (either may be empty), in the order they came. The
building block of the joins: group-by-key over two sides at once.
${JOIN_DESCRIPTION}`,
  positionals: [],
  options: JOIN_OPTIONS,
  examples: [
    { command: 'cogroup --with other.ndjson', describe: "each key's values in this stream and in the other, batch by batch" }
  ],
  input: 'batches',
  withStreams: true,
  init: (opts, ctx) => startJoin(cogroup, opts, ctx, 'either', (k, vs, ws, out) => {
    out.push([k, [vs, ws]])
  })
}

export default cogroup
