// Counts of distinct values for count-by-value (and its windowed form): one count
// per value, values compared by value (keys.ts), in first-seen order (SPEC §1).
import { keyOf } from './keys.js'

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
