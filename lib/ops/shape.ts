// Records as rows of columns, the way to-sql and sql take them: an object's fields by
// name, a pair [k, v] as two columns (key and value unless named otherwise), any
// other value as one column (value).
import { isPair } from '../core/keys.js'

export type Shape = 'object' | 'pair' | 'scalar'

export function shapeOf (record: unknown): Shape {
  if (isPair(record)) return 'pair'
  if (record !== null && typeof record === 'object' && !Array.isArray(record)) return 'object'
  return 'scalar'
}

/** The columns a record names when the user does not: key,value for a pair, value for a scalar, an object's fields. */
export function defaultNames (record: unknown): string[] {
  const shape = shapeOf(record)
  return shape === 'pair' ? ['key', 'value'] : shape === 'scalar' ? ['value'] : Object.keys(record as object)
}

/** A record's value for column `name`: an object's field, or a pair's or a scalar's by its place in `names`. */
export function valueAt (record: unknown, name: string, names: string[]): unknown {
  const shape = shapeOf(record)
  if (shape === 'object') return (record as Record<string, unknown>)[name]
  return (shape === 'pair' ? record as unknown[] : [record])[names.indexOf(name)]
}
