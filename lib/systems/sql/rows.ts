// Records into rows, for to-sql: an object's fields by column name, a pair [k, v] as
// two columns, any other value as one. A value is checked against its column's kind
// before the database sees it, so a record that cannot go in is refused naming the
// column; what the database itself refuses (a constraint) is found by the writer.
import { keyOf } from '../../core/keys.js'
import { shapeOf } from '../../ops/shape.js'
import type { Column, Kind, Plan } from './connection.js'
import type { Dialect } from './url.js'

/** What a value found in the records makes a created column hold. */
export function kindOfValues (values: unknown[]): Kind {
  const present = values.filter(v => v !== null && v !== undefined)
  if (present.length === 0) return 'text'
  if (present.every(v => Number.isSafeInteger(v))) return 'integer'
  if (present.every(v => typeof v === 'number')) return 'number'
  if (present.every(v => typeof v === 'boolean')) return 'boolean'
  if (present.every(v => typeof v === 'string')) return 'text'
  return 'json'
}

/** A refused value: the reason, naming the column. */
export class Unfit {
  constructor (readonly reason: string) {}
}

/** The value as the column takes it in this dialect, or why it cannot be. */
export function valueFor (value: unknown, column: Column, d: Dialect): unknown {
  if (value === null || value === undefined) return null
  switch (column.kind) {
    case 'integer':
      if (Number.isSafeInteger(value)) return value
      if (typeof value === 'boolean') return value ? 1 : 0
      break
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value
      break
    case 'boolean':
      if (typeof value === 'boolean') return d === 'postgres' ? value : value ? 1 : 0
      if (value === 0 || value === 1) return d === 'postgres' ? value === 1 : value
      break
    case 'text':
      if (typeof value === 'string') return value
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      return JSON.stringify(value)
    case 'json':
      return JSON.stringify(value)
    default:
      // timestamps, decimals, enums...: the database parses what it is given
      if (typeof value === 'boolean') return d === 'postgres' ? value : value ? 1 : 0
      return typeof value === 'object' ? JSON.stringify(value) : value
  }
  return new Unfit(`column ${column.name} is ${column.type}, which cannot take ${JSON.stringify(value)}`)
}

/**
 * A record's row in the plan's column order (the batch column, if any, takes `time`),
 * or why it does not fit. A pair that fits its columns as it is, the common case, is
 * its own row, one array fewer per record: so a row is never changed in place
 * (mergeByKey copies it first), or the record would change with it.
 */
export type RowMaker = (record: unknown, time: number) => unknown[] | Unfit

/**
 * The rows of a plan's records. `names` are the columns a pair or a scalar fills, in
 * order; `strict`: an object's field that is not a column is refused (the columns
 * came from the table), else it is left out (--columns chose). What each column
 * takes is worked out here once, not for every record.
 */
export function rowMaker (plan: Plan, names: string[], strict: boolean, d: Dialect): RowMaker {
  const { columns } = plan
  const batch = columns.map(c => c.name === plan.batchColumn)
  const adds = columns.map(c => plan.mode === 'add' && !plan.key.includes(c.name) && c.name !== plan.batchColumn)
  // where a pair's or a scalar's value for each column is (-1: none, so NULL)
  const at = columns.map(c => names.indexOf(c.name))
  const known = new Set(columns.map(c => c.name))
  // a pair whose values fill the columns in its own order is its own row, unless a value changes
  const inOrder = at.length === 2 && at[0] === 0 && at[1] === 1
  return (record, time) => {
    const shape = shapeOf(record)
    let values: unknown[]
    if (shape === 'object') {
      const obj = record as Record<string, unknown>
      if (strict) {
        for (const field in obj) {
          if (field !== plan.batchColumn && !known.has(field)) return new Unfit(`table ${plan.table} has no column ${field}`)
        }
      }
      values = columns.map(c => obj[c.name])
    } else {
      const given = shape === 'pair' ? record as unknown[] : [record]
      if (names.length !== given.length) return new Unfit(`a ${shape === 'pair' ? 'pair' : 'value'} fills ${given.length} column${given.length === 1 ? '' : 's'}, but the columns are ${names.join(',')} (say which with --columns)`)
      values = shape === 'pair' && inOrder ? given : at.map(i => given[i])
    }
    // each value turned into what its column takes; the record itself is copied before a change
    let row = values
    for (let i = 0; i < columns.length; i++) {
      const value = batch[i] ? time : valueFor(values[i], columns[i], d)
      if (value instanceof Unfit) return value
      if (adds[i] && value !== null && typeof value !== 'number') return new Unfit(`--mode add adds numbers, and column ${columns[i].name} of this record is ${JSON.stringify(values[i])}`)
      if (value === values[i]) continue
      if (row === record) row = [...values]
      row[i] = value
    }
    return row
  }
}

/** Rows with the records they came from: row i from records[i]; merged.get(i), where rows of one key were merged into row i, holds all of theirs. */
export interface Merged {
  rows: unknown[][]
  records: unknown[]
  merged: Map<number, unknown[]>
}

/**
 * Rows of one key merged into one, so that no statement touches a row twice: for an
 * upsert the last row wins, for an add the numbers are summed. Keys keep their
 * first-seen order; each merged row remembers the records it came from. The rows
 * given are not changed: a row is copied when a second row of its key comes, so
 * that a batch whose keys are distinct already (reduce-by-key's) passes through
 * without a copy.
 */
export function mergeByKey (plan: Plan, rows: unknown[][], records: unknown[]): Merged {
  if (plan.mode === 'insert') return { rows, records, merged: new Map() }
  const at = plan.key.map(k => plan.columns.findIndex(c => c.name === k))
  const adds = plan.columns.map(c => plan.mode === 'add' && !plan.key.includes(c.name) && c.name !== plan.batchColumn)
  // a key's place in the output (keyOf: the same key the same string, a string key itself)
  const place = new Map<string, number>()
  const out: Merged = { rows: [], records: [], merged: new Map() }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    const id = at.length === 1 ? keyOf(row[at[0]]) : keyOf(at.map(j => row[j]))
    const p = place.get(id)
    if (p === undefined) {
      place.set(id, out.rows.length)
      out.rows.push(row)
      out.records.push(records[i])
      continue
    }
    let from = out.merged.get(p)
    if (!from) {
      out.merged.set(p, from = [out.records[p]])
      out.rows[p] = [...out.rows[p]]
    }
    from.push(records[i])
    const found = out.rows[p]
    for (let j = 0; j < row.length; j++) {
      if (!adds[j]) found[j] = row[j]
      else if (row[j] !== null) found[j] = (found[j] as number ?? 0) + (row[j] as number)
    }
  }
  return out
}
