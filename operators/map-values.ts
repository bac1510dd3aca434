// Spark: PairDStreamFunctions.mapValues. Chunk by chunk; the key is kept as it came.
import { compileFunction } from '../lib/core/functions.js'
import { isPair } from '../lib/core/keys.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface MapValuesOptions { fn: string }

const mapValues: OperatorDefinition<MapValuesOptions> = {
  kind: 'operator',
  name: 'map-values',
  spark: 'mapValues',
  group: 'per batch',
  summary: 'FN applied to the value of every [key, value] pair',
  description: `
Records must be [key, value] pairs. Replaces every [k, v] by [k, FN(v)], in order.
A record that is not a pair is bad input; when FN throws, the error (or, with
--on-error skip, the dead-letter line) shows the whole pair. Chunk by chunk.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the function: (value) => new value' }],
  options: {},
  examples: [
    { command: "map-values '_ + 10'", describe: 'add 10 to every count', input: [[['a', 2], ['b', 1]], []], output: [[['a', 12], ['b', 11]], []] },
    { command: "map-values 'u => u.name'", describe: 'keep only the name of each user', input: [[[7, { name: 'ann', age: 31 }]]], output: [[[7, 'ann']]] }
  ],
  input: 'chunks',
  perRecord: true,
  init (opts, ctx) {
    const fn = compileFunction(opts.fn, ctx.scope)
    // guarded on the pair, so a failure names the record and not just its value
    const apply = ctx.guard((pair: [unknown, unknown]) => fn(pair[1]))
    return {
      onBatch (records) {
        const out: unknown[] = []
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (!isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
          const value = apply(record)
          if (value !== SKIP) out.push([record[0], value])
        }
        return out
      }
    }
  }
}

export default mapValues
