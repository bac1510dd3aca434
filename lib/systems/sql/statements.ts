// The SQL text to-sql sends, where the three databases differ: quoting, type names,
// and how an insert becomes an upsert. The marker table is the same everywhere:
//   dstream_commits(sink VARCHAR(255) PRIMARY KEY, batch_time BIGINT NOT NULL)
import type { Column, Kind, Plan } from './connection.js'
import type { Dialect } from './url.js'

export const COMMITS = 'dstream_commits'

/** A name quoted for the dialect; `schema.table` is quoted part by part. */
export function quote (d: Dialect, name: string): string {
  const q = d === 'mysql' ? '`' : '"'
  return name.split('.').map(part => q + part.split(q).join(q + q) + q).join('.')
}

/** The type a created column gets. MariaDB and MySQL cannot key a TEXT column, hence VARCHAR(255) for text keys. */
export function typeName (d: Dialect, kind: Kind, isKey: boolean): string {
  switch (kind) {
    case 'integer': return d === 'sqlite' ? 'INTEGER' : 'BIGINT'
    case 'number': return d === 'sqlite' ? 'REAL' : d === 'mysql' ? 'DOUBLE' : 'DOUBLE PRECISION'
    case 'boolean': return 'BOOLEAN'
    case 'json': return d === 'postgres' ? 'JSONB' : d === 'mysql' ? 'JSON' : 'TEXT'
    default: return d === 'mysql' && isKey ? 'VARCHAR(255)' : 'TEXT'
  }
}

export function createTable (d: Dialect, table: string, columns: Array<{ name: string, kind: Kind }>, key: string[]): string {
  const defs = columns.map(c => `${quote(d, c.name)} ${typeName(d, c.kind, key.includes(c.name))}`)
  if (key.length > 0) defs.push(`PRIMARY KEY (${key.map(k => quote(d, k)).join(', ')})`)
  return `CREATE TABLE ${quote(d, table)} (${defs.join(', ')})`
}

export const CREATE_COMMITS = `CREATE TABLE IF NOT EXISTS ${COMMITS} (sink VARCHAR(255) PRIMARY KEY, batch_time BIGINT NOT NULL)`

export function readCommit (d: Dialect): string {
  return `SELECT batch_time FROM ${COMMITS} WHERE sink = ${d === 'postgres' ? '$1' : '?'}`
}

export function writeCommit (d: Dialect): string {
  if (d === 'mysql') return `INSERT INTO ${COMMITS} (sink, batch_time) VALUES (?, ?) ON DUPLICATE KEY UPDATE batch_time = VALUES(batch_time)`
  const [a, b] = d === 'postgres' ? ['$1', '$2'] : ['?', '?']
  return `INSERT INTO ${COMMITS} (sink, batch_time) VALUES (${a}, ${b}) ON CONFLICT (sink) DO UPDATE SET batch_time = excluded.batch_time`
}

/** `"table" ("a", "b")`: the head of an insert. PostgreSQL names the target (TARGET) so that an add can refer to the stored row. */
export function insertHead (d: Dialect, plan: Plan): string {
  const alias = d === 'postgres' ? ` AS ${TARGET}` : ''
  return `INSERT INTO ${quote(d, plan.table)}${alias} (${plan.columns.map(c => quote(d, c.name)).join(', ')})`
}

const TARGET = 'dstream_target'

/**
 * What follows the values: nothing for insert; for upsert the other columns replaced;
 * for add the numbers added to the stored ones (a batch column, if any, is replaced:
 * it says which batch last touched the row). A stored NULL counts as 0.
 */
export function conflictClause (d: Dialect, plan: Plan): string {
  if (plan.mode === 'insert') return ''
  const others = plan.columns.filter(c => !plan.key.includes(c.name))
  const incoming = (c: Column) => d === 'mysql' ? `VALUES(${quote(d, c.name)})` : `excluded.${quote(d, c.name)}`
  const stored = (c: Column) => d === 'postgres' ? `${TARGET}.${quote(d, c.name)}` : quote(d, c.name)
  const set = others.map(c => {
    const value = plan.mode === 'add' && c.name !== plan.batchColumn ? `COALESCE(${stored(c)}, 0) + ${incoming(c)}` : incoming(c)
    return `${quote(d, c.name)} = ${value}`
  })
  if (d === 'mysql') {
    // a row of key columns only: there is nothing to change, but the statement needs an assignment
    return ` ON DUPLICATE KEY UPDATE ${set.length > 0 ? set.join(', ') : `${quote(d, plan.key[0])} = ${quote(d, plan.key[0])}`}`
  }
  const target = `ON CONFLICT (${plan.key.map(k => quote(d, k)).join(', ')})`
  return set.length > 0 ? ` ${target} DO UPDATE SET ${set.join(', ')}` : ` ${target} DO NOTHING`
}
