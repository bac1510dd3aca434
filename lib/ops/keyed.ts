// Per-batch aggregation by key, keys kept in first-seen order (SPEC §1): KeyedFold
// folds the values of [k, v] pairs into one accumulator per key (reduce-by-key,
// group-by-key, combine-by-key and their windows); ValueCounts counts records by
// value (count-by-value and its window). Keys compare by value (core/keys.ts).
import { builtinCheck, type Reducer } from '../core/functions.js'
import { keyOf } from '../core/keys.js'
import { SKIP, type Context, type OptionSpec } from '../core/types.js'

export class KeyedFold {
  private table = new Map<string, [unknown, unknown]>()
  private readonly lift: (value: unknown) => unknown
  private readonly add: (acc: unknown, value: unknown) => unknown
  /** the built-in reducer's test of every value (sum: numbers), decided once; undefined when any value will do */
  private readonly check: ((value: unknown) => string | undefined) | undefined

  constructor (reducer: Reducer & { builtin?: string }, private readonly ctx: Context) {
    // user functions are guarded (lift too: combine-by-key's CREATE is one)
    this.lift = reducer.builtin ? reducer.lift : ctx.guard(reducer.lift)
    this.add = reducer.builtin ? reducer.add : ctx.guard(reducer.add)
    this.check = builtinCheck(reducer.builtin)
  }

  /** Folds a chunk of [k, v] records in; records of another shape are bad input. */
  fold (records: unknown[]): void {
    // the per-record path of every keyed operator: locals, no calls that can be avoided
    const { table, ctx, lift, add, check } = this
    for (let i = 0; i < records.length; i++) {
      const record = records[i]
      if (!Array.isArray(record) || record.length !== 2) { ctx.badRecord(record, 'expected a [key, value] pair'); continue }
      const value = record[1]
      if (check !== undefined) {
        const refusal = check(value)
        if (refusal !== undefined) { ctx.badRecord(record, `${refusal}, this value is ${JSON.stringify(value)}`); continue }
      }
      const key = record[0]
      // keyOf's own rule for a string key, without the call: the string itself
      const id = typeof key === 'string' && key.charCodeAt(0) !== 0 ? key : keyOf(key)
      const entry = table.get(id)
      if (entry === undefined) {
        const acc = lift(value)
        if (acc !== SKIP) table.set(id, [key, acc])
        continue
      }
      const acc = add(entry[1], value)
      if (acc !== SKIP) entry[1] = acc
    }
  }

  /** How many keys the table holds (a worker of --partitions notes it after each chunk). */
  get size (): number { return this.table.size }

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

/**
 * Spark's numPartitions on the keyed folds that have worker threads (reduce-by-key,
 * combine-by-key; lib/engine/partitions.ts).
 */
export const PARTITIONS_OPTION: Record<string, OptionSpec> = {
  partitions: { type: 'number', meta: 'N', runOnly: true, describe: "Spark's numPartitions: fold on N worker threads, the map, flat-map, filter before it in a fused chain with it (default 1)" }
}

/** What --partitions does, for those operators' descriptions. */
export const PARTITIONS_TEXT = `In a fused chain the per-record operators right before it (map,
flat-map, filter, map-values, flat-map-values) run in the threads too, so they parse,
split and fold while the main thread reads. Keys leave in the order first seen: the
output is that of one thread, for functions that are commutative as well as
associative, as Spark asks of them (a fractional sum may differ in its last digits).
After an operator that is not per-record it runs on one thread and says so.

The default is 1, not the number of cores: on a 2-core machine two threads count 27
million words 1.4x as fast as one, but each costs about 35 MB and 50 ms to start,
and a piped chain keeps both cores busy with its processes already. Give
--partitions 2 to a fused chain that is short of CPU.`

/** Spark's numPartitions on the shuffling operators with no worker threads yet: accepted so Spark habits work, and ignored. */
export const ACCEPTED_PARTITIONS_OPTION: Record<string, OptionSpec> = {
  partitions: { type: 'number', meta: 'N', runOnly: true, describe: "Spark's numPartitions; accepted for compatibility: this operator runs on one thread (it says so when N > 1)" }
}
