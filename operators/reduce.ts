// Spark: DStream.reduce. One record per batch, all its records folded with FN.
// An empty batch gives an empty batch, as Spark's reduce over an empty RDD does.
import { BUILTIN_REDUCERS, builtinRefusal, compileReducer } from '../lib/core/functions.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface ReduceOptions { fn: string }

const reduce: OperatorDefinition<ReduceOptions> = {
  kind: 'operator',
  name: 'reduce',
  spark: 'reduce',
  group: 'per batch',
  summary: 'the records of each batch reduced with FN to one record',
  description: `
Replaces each batch by a batch of one record: its records folded in order with FN
(an associative function of two records) or a built-in: ${Object.entries(BUILTIN_REDUCERS).map(([n, r]) => `${n} (${r.describe})`).join(', ')}.
An empty batch gives an empty batch (Spark's reduce has nothing to reduce either);
use count for a number on every batch. A record the built-in cannot take (sum of a
string) is bad input. Chunks are folded as they come; the result leaves with the last.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the reduce function (a, b) => c, or sum, min, max, concat, count' }],
  options: {},
  examples: [
    { command: "reduce '(a, b) => a + b'", describe: 'the sum of each batch', input: [[1, 2, 3, 4], [5, 6, 7, 8], []], output: [[10], [26], []] },
    { command: 'reduce max', describe: 'the largest record of each batch', input: [[3, 9, 4]], output: [[9]] }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const reducer = compileReducer(opts.fn, ctx.scope)
    const add = reducer.builtin ? reducer.add : ctx.guard(reducer.add)
    let acc: unknown
    let empty = true
    return {
      onBatch (records, batch) {
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          const refusal = builtinRefusal(reducer.builtin, record)
          if (refusal) { ctx.badRecord(record, `${refusal}, this record is`); continue }
          if (empty) { acc = reducer.lift(record); empty = false; continue }
          const next = add(acc, record)
          if (next !== SKIP) acc = next
        }
        if (batch.more) return undefined
        const out = empty ? [] : [acc]
        acc = undefined
        empty = true
        return out
      }
    }
  }
}

export default reduce
