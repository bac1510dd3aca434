// Spark: DStream.flatMap. FN returns an array (any iterable) of records for each record.
import { elementsOf, notElements } from '../lib/ops/elements.js'
import { compileFunction } from '../lib/core/functions.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface FlatMapOptions { fn: string }

const flatMap: OperatorDefinition<FlatMapOptions> = {
  kind: 'operator',
  name: 'flat-map',
  spark: 'flatMap',
  group: 'per batch',
  summary: 'the records of the arrays FN returns for each record',
  description: `
Replaces every record r by the elements of FN(r), which must be an array or another
iterable (a string is one record, not its characters). Chunk by chunk.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the function: (record) => array of records' }],
  options: {},
  examples: [
    { command: "flat-map '_.split(\" \")'", describe: 'the words of every line', input: [['to be or', 'not']], output: [['to', 'be', 'or', 'not']] }
  ],
  input: 'chunks',
  perRecord: true,
  init (opts, ctx) {
    const fn = ctx.guard(compileFunction(opts.fn, ctx.scope))
    return {
      onBatch (records) {
        const out: unknown[] = []
        for (let i = 0; i < records.length; i++) {
          const many = fn(records[i])
          if (many === SKIP) continue
          const each = elementsOf(many)
          if (each === undefined) { ctx.badRecord(records[i], notElements(many)); continue }
          for (const one of each) out.push(one)
        }
        return out
      }
    }
  }
}

export default flatMap
