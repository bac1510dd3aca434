// The table `batch` of the sql operator: its columns, given by --schema or inferred
// from the first records (numbers DOUBLE, so that a later batch with a fraction still
// fits; strings VARCHAR; booleans BOOLEAN; objects, arrays and mixed values JSON), and
// each record's values made what its column's DuckDB type takes, or refused naming the
// column.
import { BOOLEAN, DOUBLE, DuckDBTypeId, DuckDBVarCharType, VARCHAR, type DuckDBType } from '@duckdb/node-api'
import { shapeOf, valueAt } from '../../ops/shape.js'

export interface Column { name: string, type: DuckDBType }

/** DuckDB's JSON: VARCHAR under another name, which its json functions and ->> read. */
const JSON_TYPE = DuckDBVarCharType.create('JSON')

/** A value its column cannot take: the reason, naming the column. */
export class Unfit {
  constructor (readonly reason: string) {}
}

/** The columns the first records make, in the order their names first come. */
export function inferColumns (records: unknown[], names: string[] | undefined): Column[] {
  const order: string[] = []
  const seen = new Set<string>()
  if (names) order.push(...names)
  else {
    for (const record of records) {
      const fields = shapeOf(record) === 'object' ? Object.keys(record as object) : shapeOf(record) === 'pair' ? ['key', 'value'] : ['value']
      for (const f of fields) if (!seen.has(f)) { seen.add(f); order.push(f) }
    }
  }
  return order.map(name => ({ name, type: typeOfValues(records.map(r => valueAt(r, name, order))) }))
}

function typeOfValues (values: unknown[]): DuckDBType {
  const present = values.filter(v => v !== null && v !== undefined)
  if (present.length === 0) return VARCHAR
  if (present.every(v => typeof v === 'number' && Number.isFinite(v))) return DOUBLE
  if (present.every(v => typeof v === 'boolean')) return BOOLEAN
  if (present.every(v => typeof v === 'string')) return VARCHAR
  return JSON_TYPE
}

/** How a column takes a record's value: a converter per type, made once per table. */
export function converterOf (column: Column): (value: unknown) => unknown {
  const { name, type } = column
  const refuse = (value: unknown) => new Unfit(`column ${name} is ${type.toString()}, which cannot take ${JSON.stringify(value)}`)
  if (type.alias === 'JSON') return value => value === undefined || value === null ? null : JSON.stringify(value)
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return value => value === undefined || value === null ? null : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return value => value === undefined || value === null ? null : typeof value === 'number' ? value : refuse(value)
    case DuckDBTypeId.BIGINT:
      return value => value === undefined || value === null ? null : Number.isSafeInteger(value) ? BigInt(value as number) : refuse(value)
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
      return value => value === undefined || value === null ? null : Number.isSafeInteger(value) ? value : refuse(value)
    case DuckDBTypeId.BOOLEAN:
      return value => value === undefined || value === null ? null : typeof value === 'boolean' ? value : refuse(value)
    default:
      // dates, timestamps, decimals, lists...: DuckDB reads them from their text (a cast)
      return value => value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value)
  }
}

/** Types the appender cannot take from a converted value as it is: loaded as VARCHAR and cast by DuckDB. */
export function loadsAsText (column: Column): boolean {
  if (column.type.alias === 'JSON') return false
  return ![DuckDBTypeId.VARCHAR, DuckDBTypeId.DOUBLE, DuckDBTypeId.FLOAT, DuckDBTypeId.BIGINT, DuckDBTypeId.INTEGER, DuckDBTypeId.SMALLINT, DuckDBTypeId.TINYINT, DuckDBTypeId.BOOLEAN].includes(column.type.typeId)
}

