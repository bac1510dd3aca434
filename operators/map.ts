// Spark: DStream.map. Chunk by chunk: one record out for every record in.
import { compileFunction } from '../lib/core/functions.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface MapOptions { fn: string }

const map: OperatorDefinition<MapOptions> = {
  kind: 'operator',
  name: 'map',
  spark: 'map',
  group: 'per batch',
  summary: 'FN applied to every record',
  description: `
Replaces every record r by FN(r). FN is a function expression ('w => [w, 1]') or
an expression in _ ('[_, 1]'). Works chunk by chunk, so it holds no batch in memory.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the function: (record) => new record' }],
  options: {},
  examples: [
    { command: "map '[_, 1]'", describe: 'pair every word with 1, as the word count does', input: [['to', 'be']], output: [[['to', 1], ['be', 1]]] },
    { command: "map 'l => l.length'", describe: 'the length of every line', input: [['hello', 'hi'], []], output: [[5, 2], []] }
  ],
  input: 'chunks',
  perRecord: true,
  init (opts, ctx) {
    const fn = ctx.guard(compileFunction(opts.fn, ctx.scope))
    return {
      onBatch (records) {
        const out: unknown[] = []
        for (let i = 0; i < records.length; i++) {
          const value = fn(records[i])
          if (value !== SKIP) out.push(value)
        }
        return out
      }
    }
  }
}

export default map
