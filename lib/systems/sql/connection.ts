// What to-sql needs of a database, and the one connection it keeps to it for the
// life of the process (sqlite.ts, mysql.ts, postgres.ts). Each driver loads only
// when its database is used.
import type { Dialect, SqlUrl } from './url.js'

/** What a column holds, as far as turning a record's value into it goes (rows.ts). */
export type Kind = 'integer' | 'number' | 'text' | 'boolean' | 'json' | 'other'

export interface Column {
  name: string
  /** the type as the database names it (BIGINT, text, double precision) */
  type: string
  kind: Kind
}

export type Mode = 'insert' | 'upsert' | 'add'

/** What a statement writes: into which table, which columns in row order, and how. */
export interface Plan {
  table: string
  columns: Column[]
  mode: Mode
  /** upsert and add: the columns a row is found by (a unique key of the table) */
  key: string[]
  /** the column that holds the batch time (--batch-column): set, never added */
  batchColumn?: string
}

/** What a failure is: a row the database refuses, a database that is away, or anything else. */
export type Problem = 'refused' | 'away' | 'failure'

export interface Connection {
  readonly dialect: Dialect
  /** the table's columns in order, undefined when there is no such table */
  describe(table: string): Promise<Column[] | undefined>
  /** the column sets the table holds unique: its primary key and unique indexes */
  uniqueKeys(table: string): Promise<string[][]>
  /** creates the table; gives the statement it ran */
  create(table: string, columns: Array<{ name: string, kind: Kind }>, key: string[]): Promise<string>
  /** creates dstream_commits when it is missing; true when it did */
  ensureCommits(): Promise<boolean>
  /** the sink's marker in dstream_commits, null when it has none */
  readCommit(sink: string): Promise<number | null>
  begin(): Promise<void>
  commit(): Promise<void>
  rollback(): Promise<void>
  /** in the open transaction: the sink's marker set to `time` */
  writeCommit(sink: string, time: number): Promise<void>
  /** in the open transaction: the rows, many to a statement, each statement prepared once */
  writeRows(plan: Plan, rows: unknown[][]): Promise<void>
  /** in the open transaction, inside a savepoint: one row; the error when the database refused it (and the savepoint rolled back) */
  tryRow(plan: Plan, row: unknown[]): Promise<unknown>
  problem(err: unknown): Problem
  /** the driver's message of a failure, with what it names (column, constraint) */
  message(err: unknown): string
  close(): Promise<void>
}

export async function connect (url: SqlUrl): Promise<Connection> {
  if (url.dialect === 'sqlite') return (await import('./sqlite.js')).SqliteConnection.open(url)
  if (url.dialect === 'mysql') return (await import('./mysql.js')).MysqlConnection.open(url)
  return (await import('./postgres.js')).PostgresConnection.open(url)
}
