// Spark: DStream.union / StreamingContext.union. The other streams are files, FIFOs
// or `<(...)` given with --with; lib/engine/merge.ts pairs their batches by time. As in
// Spark, the streams must have the same interval.
import type { OperatorDefinition } from '../lib/core/types.js'
import { usage } from '../lib/core/errors.js'

interface UnionOptions { with?: string[] }

const union: OperatorDefinition<UnionOptions> = {
  kind: 'operator',
  name: 'union',
  spark: 'union',
  group: 'per batch',
  summary: 'the records of this stream and of every --with stream, batch by batch',
  description: `
Emits, for every batch time, the records of the input's batch followed by those of
each --with stream's batch at the same time, in the order the streams are given.
A --with STREAM is a file of batches, a FIFO, or a process substitution:

  dstream union --with <(dstream socket host2:9999 --interval 1s)

A stream with no batch at a time (it started later, or has ended) adds nothing to
that batch; the output ends when every stream has ended. The streams must have the
same interval: streams of different intervals are bad input (exit 65).`,
  positionals: [],
  options: {
    with: { type: 'string', array: true, meta: 'STREAM...', describe: 'the other streams (repeatable: --with a --with b, or --with a b)' }
  },
  examples: [
    { command: 'union --with <(dstream socket localhost:7777 --interval 1s)', describe: 'the batches of stdin (1-second batches) and of a socket, in one stream' },
    { command: 'union --with errors.ndjson warnings.ndjson', describe: 'three streams of batches with the same interval, merged' }
  ],
  input: 'batches',
  withStreams: true,
  init (opts) {
    if (!opts.with?.length) throw usage(union, 'needs at least one --with STREAM')
    return {
      onBatch (records, _batch, others) {
        return records.concat(...others!)
      }
    }
  }
}

export default union
