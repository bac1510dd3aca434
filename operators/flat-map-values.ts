// Spark: PairDStreamFunctions.flatMapValues. Chunk by chunk; FN returns an array
// (any iterable) of values, each paired with the record's key.
import { elementsOf, notElements } from '../lib/ops/elements.js'
import { compileFunction } from '../lib/core/functions.js'
import { isPair } from '../lib/core/keys.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface FlatMapValuesOptions { fn: string }

const flatMapValues: OperatorDefinition<FlatMapValuesOptions> = {
  kind: 'operator',
  name: 'flat-map-values',
  spark: 'flatMapValues',
  group: 'per batch',
  summary: 'a [key, x] pair for each x of the array FN returns for a value',
  description: `
Records must be [key, value] pairs. Replaces every [k, v] by [k, x] for each
element x of FN(v), which must be an array or another iterable (a string is one
value, not its characters; anything else is bad input). An empty array drops the
pair. A record that is not a pair is bad input; when FN throws, the error (or, with
--on-error skip, the dead-letter line) shows the whole pair. Chunk by chunk.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the function: (value) => array of values' }],
  options: {},
  examples: [
    { command: "flat-map-values 'x => [x, x + 10]'", describe: 'two values for every one', input: [[['a', 2], ['b', 1]], []], output: [[['a', 2], ['a', 12], ['b', 1], ['b', 11]], []] },
    { command: "flat-map-values '_.split(\",\")'", describe: 'one pair per item of a list', input: [[['fruit', 'apple,pear'], ['veg', 'leek']]], output: [[['fruit', 'apple'], ['fruit', 'pear'], ['veg', 'leek']]] }
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
          const many = apply(record)
          if (many === SKIP) continue
          const each = elementsOf(many)
          if (each === undefined) { ctx.badRecord(record, notElements(many)); continue }
          for (const one of each) out.push([record[0], one])
        }
        return out
      }
    }
  }
}

export default flatMapValues
