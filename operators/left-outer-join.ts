// Spark: PairDStreamFunctions.leftOuterJoin, or transform + RDD.leftOuterJoin with
// a static dataset. Spark's Option[W] is w itself for Some(w) and null for None.
import { JOIN_DESCRIPTION, JOIN_OPTIONS, startJoin, type JoinOptions } from '../lib/ops/join.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const leftOuterJoin: OperatorDefinition<JoinOptions> = {
  kind: 'operator',
  name: 'left-outer-join',
  spark: 'leftOuterJoin',
  group: 'per batch',
  summary: 'join, and [k, [v, null]] for the keys of the input with nothing on the right side',
  description: `
Records are [k, v] pairs. For every batch, emits [k, [v, w]] for every value v of a
key k in the batch and every value w of k on the right side, and [k, [v, null]] for
every v whose key has no value on the right side. Spark's Option becomes a plain
value: Some(w) is w, None is null (so a right-side value null cannot be told from
None). Keys only on the right side give nothing.

The blacklist job: drop the clicks of users listed in a file that may be edited
while the stream runs:

  dstream map 'l => [l.split(",")[1], l]' \\
    | dstream left-outer-join --static blacklist.ndjson \\
    | dstream filter '([user, [line, black]]) => black === null' \\
    | dstream map '([user, [line]]) => line'

with blacklist.ndjson holding pairs such as ["zs", true].
${JOIN_DESCRIPTION}`,
  positionals: [],
  options: JOIN_OPTIONS,
  examples: [
    { command: 'left-outer-join --static blacklist.ndjson', describe: '[user, [click, true]] for a listed user, [user, [click, null]] for the others' },
    { command: 'left-outer-join --with bytes.ndjson', describe: 'each [ip, requests] with the bytes of that ip in the same batch of another stream, or null' }
  ],
  input: 'batches',
  withStreams: true,
  init: (opts, ctx) => startJoin(leftOuterJoin, opts, ctx, 'left', (k, vs, ws, out) => {
    for (const v of vs) {
      if (ws.length === 0) out.push([k, [v, null]])
      for (const w of ws) out.push([k, [v, w]])
    }
  })
}

export default leftOuterJoin
