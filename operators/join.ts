// Spark: PairDStreamFunctions.join (two streams), or transform + RDD.join with a
// static dataset. One [k, [v, w]] for every pair of values of a key on both sides.
import { JOIN_DESCRIPTION, JOIN_OPTIONS, startJoin, type JoinOptions } from '../lib/ops/join.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const join: OperatorDefinition<JoinOptions> = {
  kind: 'operator',
  name: 'join',
  spark: 'join',
  group: 'per batch',
  summary: 'batch by batch, [k, [v, w]] for every v of k in the input and w of k on the right side',
  description: `
Records are [k, v] pairs. For every batch, emits [k, [v, w]] for every value v of a
key k in the batch and every value w of k on the right side (a --with stream's
batch at the same time, or a --static dataset): the inner join, as Spark's join.
Keys on one side only give nothing; an empty batch gives an empty batch.
${JOIN_DESCRIPTION}`,
  positionals: [],
  options: JOIN_OPTIONS,
  examples: [
    { command: 'join --with <(dstream socket localhost:7777 --interval 5s | dstream map \'l => l.split(" ")\')', describe: 'requests per IP joined with bytes per IP from a second pipeline, batch by batch' },
    { command: 'join --static prices.json', describe: 'each [item, quantity] with its price from a file: [item, [quantity, price]]' }
  ],
  input: 'batches',
  withStreams: true,
  init: (opts, ctx) => startJoin(join, opts, ctx, 'left', (k, vs, ws, out) => {
    for (const v of vs) for (const w of ws) out.push([k, [v, w]])
  })
}

export default join
