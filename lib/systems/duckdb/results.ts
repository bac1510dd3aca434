// DuckDB's result rows as records, values as JSON holds them: whole numbers (BIGINT,
// and the HUGEINT of sum()) as numbers where a number holds them exactly, else as
// strings; timestamps and dates as ISO strings; a JSON column's text parsed; lists and
// structs as arrays and objects.
import { DuckDBTypeId, type DuckDBResultReader } from '@duckdb/node-api'

export type As = 'objects' | 'pairs' | 'values'

/** The result's rows as records of the shape asked for; the reason when the columns do not make that shape. */
export function recordsOf (result: DuckDBResultReader, as: As): unknown[] | string {
  const names = result.columnNames()
  if (as === 'pairs' && names.length !== 2) return `--as pairs needs two columns, the query gives ${names.length} (${names.join(', ')})`
  if (as === 'values' && names.length !== 1) return `--as values needs one column, the query gives ${names.length} (${names.join(', ')})`
  const json = result.columnTypes().map(t => t.alias === 'JSON' && t.typeId === DuckDBTypeId.VARCHAR)
  const rows = result.getRowsJS()
  const out = new Array(rows.length)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    const values = new Array(row.length)
    for (let c = 0; c < row.length; c++) values[c] = json[c] && typeof row[c] === 'string' ? JSON.parse(row[c] as string) : plain(row[c])
    if (as === 'values') out[r] = values[0]
    else if (as === 'pairs') out[r] = values
    else {
      const obj: Record<string, unknown> = {}
      for (let c = 0; c < names.length; c++) obj[names[c]] = values[c]
      out[r] = obj
    }
  }
  return out
}

function plain (value: unknown): unknown {
  if (typeof value === 'bigint') return value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : String(value)
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') {
    const obj: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) obj[k] = plain(v)
    return obj
  }
  return value
}
