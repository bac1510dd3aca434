// SQLite through better-sqlite3: a file, no server. Its calls are synchronous and a
// prepared statement runs in microseconds, so rows go one execution each inside the
// batch's transaction: many rows to a statement would only add parsing, which a
// prepared statement does once. Another process holding the file's lock (a reader)
// is waited for up to 5 s by SQLite, then retried like a server that is away.
import type Database from 'better-sqlite3'
import type { Column, Connection, Kind, Plan, Problem } from './connection.js'
import { COMMITS, CREATE_COMMITS, conflictClause, createTable, insertHead, readCommit, writeCommit } from './statements.js'
import type { SqlUrl } from './url.js'

export class SqliteConnection implements Connection {
  readonly dialect = 'sqlite'
  private readonly statements = new Map<string, Database.Statement>()

  private constructor (private readonly db: Database.Database) {}

  static async open (url: SqlUrl): Promise<SqliteConnection> {
    const { default: Sqlite } = await import('better-sqlite3')
    const db = new Sqlite(url.file!, { timeout: 5000 })
    return new SqliteConnection(db)
  }

  private prepared (sql: string): Database.Statement {
    let statement = this.statements.get(sql)
    if (!statement) this.statements.set(sql, statement = this.db.prepare(sql))
    return statement
  }

  async describe (table: string): Promise<Column[] | undefined> {
    const [schema, name] = table.includes('.') ? table.split('.', 2) : ['main', table]
    const rows = this.db.prepare(`SELECT name, type FROM pragma_table_info(?, ?)`).all(name, schema) as Array<{ name: string, type: string }>
    if (rows.length === 0) return undefined
    return rows.map(r => ({ name: r.name, type: r.type || 'ANY', kind: kindOf(r.type) }))
  }

  async uniqueKeys (table: string): Promise<string[][]> {
    const [schema, name] = table.includes('.') ? table.split('.', 2) : ['main', table]
    const keys: string[][] = []
    const primary = (this.db.prepare('SELECT name, pk FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk').all(name, schema) as Array<{ name: string }>).map(r => r.name)
    if (primary.length > 0) keys.push(primary)
    const indexes = this.db.prepare('SELECT name FROM pragma_index_list(?, ?) WHERE "unique" = 1').all(name, schema) as Array<{ name: string }>
    for (const index of indexes) keys.push((this.db.prepare('SELECT name FROM pragma_index_info(?, ?)').all(index.name, schema) as Array<{ name: string }>).map(r => r.name))
    return keys
  }

  async create (table: string, columns: Array<{ name: string, kind: Kind }>, key: string[]): Promise<string> {
    const sql = createTable('sqlite', table, columns, key)
    this.db.exec(sql)
    return sql
  }

  async ensureCommits (): Promise<boolean> {
    const there = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(COMMITS) !== undefined
    if (!there) this.db.exec(CREATE_COMMITS)
    return !there
  }

  async readCommit (sink: string): Promise<number | null> {
    const row = this.prepared(readCommit('sqlite')).get(sink) as { batch_time: number } | undefined
    return row === undefined ? null : Number(row.batch_time)
  }

  // IMMEDIATE: the write lock is taken at BEGIN, so a reader cannot make the commit fail later
  async begin (): Promise<void> { this.prepared('BEGIN IMMEDIATE').run() }
  async commit (): Promise<void> { this.prepared('COMMIT').run() }
  async rollback (): Promise<void> { if (this.db.inTransaction) this.prepared('ROLLBACK').run() }

  async writeCommit (sink: string, time: number): Promise<void> {
    this.prepared(writeCommit('sqlite')).run(sink, time)
  }

  async writeRows (plan: Plan, rows: unknown[][]): Promise<void> {
    const statement = this.prepared(this.insert(plan))
    for (const row of rows) statement.run(row)
  }

  async tryRow (plan: Plan, row: unknown[]): Promise<unknown> {
    this.prepared('SAVEPOINT dstream_row').run()
    try {
      this.prepared(this.insert(plan)).run(row)
      this.prepared('RELEASE dstream_row').run()
      return undefined
    } catch (err) {
      this.prepared('ROLLBACK TO dstream_row').run()
      this.prepared('RELEASE dstream_row').run()
      if (this.problem(err) !== 'refused') throw err
      return err
    }
  }

  private insert (plan: Plan): string {
    return `${insertHead('sqlite', plan)} VALUES (${plan.columns.map(() => '?').join(', ')})${conflictClause('sqlite', plan)}`
  }

  problem (err: unknown): Problem {
    const code = String((err as { code?: string })?.code ?? '')
    if (/^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code)) return 'refused'
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return 'away'
    return 'failure'
  }

  message (err: unknown): string {
    return (err as Error)?.message ?? String(err)
  }

  async close (): Promise<void> {
    this.db.close()
  }
}

/** SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1), with BOOLEAN and JSON kept apart. */
function kindOf (type: string): Kind {
  const t = type.toUpperCase()
  if (t.includes('INT')) return 'integer'
  if (t.includes('BOOL')) return 'boolean'
  if (t.includes('JSON')) return 'json'
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text'
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'number'
  return 'other'
}

