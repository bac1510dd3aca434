// Spark: DStream.filter. Keeps the records for which FN is truthy; chunk by chunk.
import { compileFunction } from '../lib/core/functions.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface FilterOptions { fn: string }

const filter: OperatorDefinition<FilterOptions> = {
  kind: 'operator',
  name: 'filter',
  spark: 'filter',
  group: 'per batch',
  summary: 'the records for which FN is true',
  description: `
Keeps the records r for which FN(r) is truthy, in their order. Chunk by chunk.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the predicate: (record) => boolean' }],
  options: {},
  examples: [
    { command: "filter '_.includes(\"error\")'", describe: 'the error lines', input: [['ok', 'an error', 'error 2'], ['ok']], output: [['an error', 'error 2'], []] }
  ],
  input: 'chunks',
  perRecord: true,
  init (opts, ctx) {
    const fn = ctx.guard(compileFunction(opts.fn, ctx.scope))
    return {
      onBatch (records) {
        const out: unknown[] = []
        for (let i = 0; i < records.length; i++) {
          const keep = fn(records[i])
          if (keep && keep !== SKIP) out.push(records[i])
        }
        return out
      }
    }
  }
}

export default filter
