// Per-batch aggregation by key for the pair operators: values folded into one
// accumulator per key, keys kept in first-seen order (SPEC §1).
import { builtinRefusal, type Reducer } from './functions.js'
import { isPair, keyOf } from './keys.js'
import { SKIP, type Context } from './types.js'

export class KeyedFold {
  private table = new Map<string, [unknown, unknown]>()
  private readonly lift: (value: unknown) => unknown
  private readonly add: (acc: unknown, value: unknown) => unknown

  constructor (private readonly reducer: Reducer & { builtin?: string }, private readonly ctx: Context) {
    // user functions are guarded (lift too: combine-by-key's CREATE is one)
    this.lift = reducer.builtin ? reducer.lift : ctx.guard(reducer.lift)
    this.add = reducer.builtin ? reducer.add : ctx.guard(reducer.add)
  }

  /** Folds a chunk of [k, v] records in; records of another shape are bad input. */
  fold (records: unknown[]): void {
    const { table, reducer, ctx } = this
    for (let i = 0; i < records.length; i++) {
      const record = records[i]
      if (!isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
      const value = record[1]
      const refusal = builtinRefusal(reducer.builtin, value)
      if (refusal) { ctx.badRecord(record, `${refusal}, this value is ${JSON.stringify(value)}`); continue }
      const id = keyOf(record[0])
      const entry = table.get(id)
      if (entry === undefined) {
        const acc = this.lift(value)
        if (acc !== SKIP) table.set(id, [record[0], acc])
        continue
      }
      const acc = this.add(entry[1], value)
      if (acc !== SKIP) entry[1] = acc
    }
  }

  /** The [key, accumulator] pairs in first-seen order; empties the table. */
  take (): Array<[unknown, unknown]> {
    const out = [...this.table.values()]
    this.table.clear()
    return out
  }

  /** The table itself (key id → [key, accumulator]) for those who keep it (windows); starts a new one. */
  takeTable (): Map<string, [unknown, unknown]> {
    const table = this.table
    this.table = new Map()
    return table
  }
}
