// Spark: PairDStreamFunctions.rightOuterJoin, or transform + RDD.rightOuterJoin with
// a static dataset. Spark's Option[V] is v itself for Some(v) and null for None.
import { JOIN_DESCRIPTION, JOIN_OPTIONS, startJoin, type JoinOptions } from '../lib/ops/join.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const rightOuterJoin: OperatorDefinition<JoinOptions> = {
  kind: 'operator',
  name: 'right-outer-join',
  spark: 'rightOuterJoin',
  group: 'per batch',
  summary: 'join, and [k, [null, w]] for the keys of the right side with nothing in the input',
  description: `
Records are [k, v] pairs. For every batch, emits [k, [v, w]] for every value v of a
key k in the batch and every value w of k on the right side, and [k, [null, w]] for
every w whose key is not in the batch. Spark's Option becomes a plain value: Some(v)
is v, None is null. Keys only in the input give nothing. With --static, every batch
carries the whole dataset.
${JOIN_DESCRIPTION}`,
  positionals: [],
  options: JOIN_OPTIONS,
  examples: [
    { command: 'right-outer-join --static servers.json', describe: 'every [server, [requests or null, owner]] of a list of servers, each batch' }
  ],
  input: 'batches',
  withStreams: true,
  init: (opts, ctx) => startJoin(rightOuterJoin, opts, ctx, 'either', (k, vs, ws, out) => {
    if (vs.length === 0) for (const w of ws) out.push([k, [null, w]])
    for (const v of vs) for (const w of ws) out.push([k, [v, w]])
  })
}

export default rightOuterJoin
