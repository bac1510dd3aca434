// Spark: PairDStreamFunctions.fullOuterJoin, or transform + RDD.fullOuterJoin with a
// static dataset. Spark's Options are plain values: Some(x) is x, None is null.
import { JOIN_DESCRIPTION, JOIN_OPTIONS, startJoin, type JoinOptions } from '../lib/ops/join.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const fullOuterJoin: OperatorDefinition<JoinOptions> = {
  kind: 'operator',
  name: 'full-outer-join',
  spark: 'fullOuterJoin',
  group: 'per batch',
  summary: 'join, and [k, [v, null]] or [k, [null, w]] for the keys on one side only',
  description: `
Records are [k, v] pairs. For every batch, emits [k, [v, w]] for every value v of a
key k in the batch and every value w of k on the right side, [k, [v, null]] for the
values of keys only in the batch, and [k, [null, w]] for those of keys only on the
right side. Spark's Option becomes a plain value: Some(x) is x, None is null.
${JOIN_DESCRIPTION}`,
  positionals: [],
  options: JOIN_OPTIONS,
  examples: [
    { command: 'full-outer-join --with other.ndjson', describe: 'the keys of both streams, batch by batch, null where a side has none' }
  ],
  input: 'batches',
  withStreams: true,
  init: (opts, ctx) => startJoin(fullOuterJoin, opts, ctx, 'either', (k, vs, ws, out) => {
    if (ws.length === 0) for (const v of vs) out.push([k, [v, null]])
    if (vs.length === 0) for (const w of ws) out.push([k, [null, w]])
    for (const v of vs) for (const w of ws) out.push([k, [v, w]])
  })
}

export default fullOuterJoin
