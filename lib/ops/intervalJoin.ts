// One side of Structured Streaming's stream-stream join, what Spark keeps in its
// SymmetricHashJoinStateManager: the side's rows by key, each with its event time and
// whether it has matched a row of the other side yet, in the order they came. The
// operator (operators/interval-join.ts) says when a row can match no more; the rows
// it drops that never matched are what an outer join emits with null.
import { excerpt } from '../core/errors.js'
import { keyOf } from '../core/keys.js'

export interface JoinRow {
  key: unknown
  value: unknown
  /** the event time, ms since the epoch */
  time: number
  /** whether it has joined a row of the other side (then an outer join gives no null for it) */
  matched: boolean
}

/** A row as checkpointed: [key, value, time, matched]. */
export type SavedRow = [unknown, unknown, number, boolean]

export class JoinSide {
  /** every row, in the order they came */
  private rows: JoinRow[] = []
  private byKey = new Map<string, JoinRow[]>()

  get size (): number { return this.rows.length }

  add (row: JoinRow): void {
    this.rows.push(row)
    const id = keyOf(row.key)
    const same = this.byKey.get(id)
    if (same === undefined) this.byKey.set(id, [row])
    else same.push(row)
  }

  /** The rows of a key (by value), in the order they came. */
  rowsOf (key: unknown): readonly JoinRow[] {
    return this.byKey.get(keyOf(key)) ?? []
  }

  /** Drops the rows whose time `expired` says can match no more; returns those that never matched, in the order they came. */
  evict (expired: (time: number) => boolean): JoinRow[] {
    const unmatched: JoinRow[] = []
    const kept: JoinRow[] = []
    for (const row of this.rows) {
      if (!expired(row.time)) kept.push(row)
      else if (!row.matched) unmatched.push(row)
    }
    if (kept.length < this.rows.length) {
      this.rows = []
      this.byKey.clear()
      for (const row of kept) this.add(row)
    }
    return unmatched
  }

  snapshot (): SavedRow[] {
    return this.rows.map(r => [r.key, r.value, r.time, r.matched])
  }

  restore (saved: unknown, what: string): void {
    if (!Array.isArray(saved) || !saved.every(isSavedRow)) {
      throw new Error(`${what} is not a list of [key, value, time, matched] rows, but ${excerpt(saved)}`)
    }
    this.rows = []
    this.byKey.clear()
    for (const [key, value, time, matched] of saved as SavedRow[]) this.add({ key, value, time, matched })
  }
}

function isSavedRow (r: unknown): boolean {
  return Array.isArray(r) && r.length === 4 && typeof r[2] === 'number' && Number.isFinite(r[2]) && typeof r[3] === 'boolean'
}
