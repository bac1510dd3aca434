// Records into rows, for to-sql: an object's fields by column name, a pair [k, v] as
// two columns, any other value as one. A value is checked against its column's kind
// before the database sees it, so a record that cannot go in is refused naming the
// column; what the database itself refuses (a constraint) is found by the writer.
import { canonicalJson, isPair } from '../core/keys.js'
import type { Column, Kind, Plan } from './connection.js'
import type { Dialect } from './url.js'

export type Shape = 'object' | 'pair' | 'scalar'

export function shapeOf (record: unknown): Shape {
  if (isPair(record)) return 'pair'
  if (record !== null && typeof record === 'object' && !Array.isArray(record)) return 'object'
  return 'scalar'
}

/** The columns a record names when --columns does not: key,value for a pair, value for a scalar, an object's fields. */
export function defaultNames (record: unknown): string[] {
  const shape = shapeOf(record)
  return shape === 'pair' ? ['key', 'value'] : shape === 'scalar' ? ['value'] : Object.keys(record as object)
}

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
 * A record's row in the plan's column order (the batch column, if any, takes
 * `time`), or why it does not fit. `names` are the columns a pair or a scalar fills,
 * in order; `strict`: an object's field that is not a column is refused (the
 * columns came from the table), else it is left out (--columns chose).
 */
export function rowOf (record: unknown, plan: Plan, names: string[], strict: boolean, time: number, d: Dialect): unknown[] | Unfit {
  const shape = shapeOf(record)
  let get: (name: string) => unknown
  if (shape === 'object') {
    const obj = record as Record<string, unknown>
    if (strict) {
      for (const field in obj) {
        if (field !== plan.batchColumn && !plan.columns.some(c => c.name === field)) return new Unfit(`table ${plan.table} has no column ${field}`)
      }
    }
    get = name => obj[name]
  } else {
    const values = shape === 'pair' ? record as unknown[] : [record]
    if (names.length !== values.length) return new Unfit(`a ${shape === 'pair' ? 'pair' : 'value'} fills ${values.length} column${values.length === 1 ? '' : 's'}, but the columns are ${names.join(',')} (say which with --columns)`)
    get = name => values[names.indexOf(name)]
  }
  const row = new Array(plan.columns.length)
  for (let i = 0; i < plan.columns.length; i++) {
    const column = plan.columns[i]
    const value = column.name === plan.batchColumn ? time : valueFor(get(column.name), column, d)
    if (value instanceof Unfit) return value
    if (plan.mode === 'add' && !plan.key.includes(column.name) && column.name !== plan.batchColumn && value !== null && typeof value !== 'number') {
      return new Unfit(`--mode add adds numbers, and column ${column.name} of this record is ${JSON.stringify(get(column.name))}`)
    }
    row[i] = value
  }
  return row
}

/**
 * Rows of one key merged into one, so that no statement touches a row twice: for an
 * upsert the last row wins, for an add the numbers are summed. Keys keep their
 * first-seen order; each merged row remembers the records it came from.
 */
export function mergeByKey (plan: Plan, rows: unknown[][], records: unknown[][]): { rows: unknown[][], records: unknown[][] } {
  if (plan.mode === 'insert') return { rows, records }
  const at = plan.key.map(k => plan.columns.findIndex(c => c.name === k))
  const adds = plan.columns.map(c => plan.mode === 'add' && !plan.key.includes(c.name) && c.name !== plan.batchColumn)
  const merged = new Map<string, { row: unknown[], records: unknown[] }>()
  rows.forEach((row, i) => {
    const id = at.length === 1 ? canonicalJson(row[at[0]]) : canonicalJson(at.map(j => row[j]))
    const found = merged.get(id)
    if (!found) { merged.set(id, { row: [...row], records: [...records[i]] }); return }
    found.records.push(...records[i])
    for (let j = 0; j < row.length; j++) {
      if (!adds[j]) found.row[j] = row[j]
      else if (row[j] !== null) found.row[j] = (found.row[j] as number ?? 0) + (row[j] as number)
    }
  })
  return { rows: [...merged.values()].map(m => m.row), records: [...merged.values()].map(m => m.records) }
}
