// Per-batch aggregation by key, keys kept in first-seen order (SPEC §1): KeyedFold
// folds the values of [k, v] pairs into one accumulator per key (reduce-by-key,
// group-by-key, combine-by-key and their windows); ValueCounts counts records by
// value (count-by-value and its window). Keys compare by value (core/keys.ts).
import { builtinRefusal, type Reducer } from '../core/functions.js'
import { isPair, keyOf } from '../core/keys.js'
import { SKIP, type Context, type OptionSpec } from '../core/types.js'

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

// Counts of distinct values: one count per value, any record being a value.
export class ValueCounts {
  private table = new Map<string, [unknown, number]>()

  /** Counts a chunk of records in; any record is a value. */
  add (records: unknown[]): void {
    const { table } = this
    for (let i = 0; i < records.length; i++) {
      const id = keyOf(records[i])
      const entry = table.get(id)
      if (entry === undefined) table.set(id, [records[i], 1])
      else entry[1]++
    }
  }

  /** The [value, count] pairs in first-seen order; empties the table. */
  take (): Array<[unknown, number]> {
    const out = [...this.table.values()]
    this.table.clear()
    return out
  }

  /** The table itself (value id → [value, count]) for those who keep it (windows); starts a new one. */
  takeTable (): Map<string, [unknown, number]> {
    const table = this.table
    this.table = new Map()
    return table
  }
}

/** Spark's numPartitions on the shuffling operators: accepted so Spark habits work, and ignored. */
export const PARTITIONS_OPTION: Record<string, OptionSpec> = {
  partitions: { type: 'number', describe: "Spark's numPartitions; accepted for compatibility and ignored: each operator is one process until parallel workers exist" }
}
