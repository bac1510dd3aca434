// MariaDB and MySQL through mysql2: one connection, rows sent as multi-row INSERTs of
// up to ROWS_PER_STATEMENT rows, each a server-side prepared statement (mysql2
// prepares a statement text once per connection and keeps it). ON DUPLICATE KEY
// UPDATE with VALUES() makes the upsert and the add; MySQL 8.0.20+ warns that VALUES()
// is deprecated there but still runs it, and it is what MariaDB knows.
import type { Connection as Driver, RowDataPacket } from 'mysql2/promise'
import { errorCode } from '../../core/backoff.js'
import type { Column, Connection, Kind, Plan, Problem } from './connection.js'
import { CREATE_COMMITS, conflictClause, createTable, insertHead, readCommit, writeCommit } from './statements.js'
import type { SqlUrl } from './url.js'

/** Rows per INSERT: large enough to spare round trips, small enough for max_allowed_packet and the 65,535 placeholders. */
const ROWS_PER_STATEMENT = 1000

/** Errors of a row: data (22) and integrity (23) classes, and those MySQL files under HY000 (a wrong value, no default, a CHECK). */
const REFUSED = new Set([1048, 1062, 1264, 1265, 1292, 1364, 1366, 1406, 1451, 1452, 3819, 4025])
/** The server going away, restarting or full. */
const AWAY = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])

export class MysqlConnection implements Connection {
  readonly dialect = 'mysql'
  /** set when the connection failed while idle: the next call fails as the server being away */
  private lost: Error | undefined

  private constructor (private readonly driver: Driver) {
    driver.on('error', (err: Error) => { this.lost = err })
  }

  static async open (url: SqlUrl): Promise<MysqlConnection> {
    const { createConnection } = await import('mysql2/promise')
    return new MysqlConnection(await createConnection({ uri: url.url, supportBigNumbers: true, dateStrings: true }))
  }

  private async run (sql: string, values: unknown[] = []): Promise<RowDataPacket[]> {
    if (this.lost) throw this.lost
    const [rows] = await this.driver.execute(sql, values as any[])
    return rows as RowDataPacket[]
  }

  private schemaAnd (table: string): [string, string] {
    return table.includes('.') ? table.split('.', 2) as [string, string] : ['', table]
  }

  async describe (table: string): Promise<Column[] | undefined> {
    const [schema, name] = this.schemaAnd(table)
    const rows = await this.run(
      'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS base FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, \'\'), DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [schema, name])
    if (rows.length === 0) return undefined
    return rows.map(r => ({ name: String(r.name), type: String(r.type).toUpperCase(), kind: kindOf(String(r.base), String(r.type)) }))
  }

  async uniqueKeys (table: string): Promise<string[][]> {
    const [schema, name] = this.schemaAnd(table)
    const rows = await this.run(
      'SELECT INDEX_NAME AS idx, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, \'\'), DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX',
      [schema, name])
    const keys = new Map<string, string[]>()
    for (const r of rows) keys.set(String(r.idx), [...keys.get(String(r.idx)) ?? [], String(r.col)])
    return [...keys.values()]
  }

  async create (table: string, columns: Array<{ name: string, kind: Kind }>, key: string[]): Promise<string> {
    const sql = createTable('mysql', table, columns, key)
    await this.driver.query(sql)
    return sql
  }

  async ensureCommits (): Promise<boolean> {
    const [result] = await this.driver.query(CREATE_COMMITS)
    // IF NOT EXISTS: a table that was there gives a warning instead of creating
    return (result as { warningStatus?: number }).warningStatus === 0
  }

  async readCommit (sink: string): Promise<number | null> {
    const rows = await this.run(readCommit('mysql'), [sink])
    return rows.length === 0 ? null : Number(rows[0].batch_time)
  }

  async begin (): Promise<void> {
    if (this.lost) throw this.lost
    await this.driver.beginTransaction()
  }

  async commit (): Promise<void> { await this.driver.commit() }
  async rollback (): Promise<void> { if (!this.lost) await this.driver.rollback() }

  async writeCommit (sink: string, time: number): Promise<void> {
    await this.run(writeCommit('mysql'), [sink, time])
  }

  async writeRows (plan: Plan, rows: unknown[][]): Promise<void> {
    const per = Math.min(ROWS_PER_STATEMENT, Math.floor(65535 / plan.columns.length))
    for (let i = 0; i < rows.length; i += per) {
      const slice = rows.slice(i, i + per)
      await this.run(this.insert(plan, slice.length), slice.flat())
    }
  }

  async tryRow (plan: Plan, row: unknown[]): Promise<unknown> {
    await this.driver.query('SAVEPOINT dstream_row')
    try {
      await this.run(this.insert(plan, 1), row)
      await this.driver.query('RELEASE SAVEPOINT dstream_row')
      return undefined
    } catch (err) {
      if (this.problem(err) !== 'refused') throw err
      await this.driver.query('ROLLBACK TO SAVEPOINT dstream_row')
      return err
    }
  }

  private insert (plan: Plan, rows: number): string {
    const one = `(${plan.columns.map(() => '?').join(', ')})`
    return `${insertHead('mysql', plan)} VALUES ${new Array(rows).fill(one).join(', ')}${conflictClause('mysql', plan)}`
  }

  problem (err: unknown): Problem {
    const e = err as { errno?: number, sqlState?: string, fatal?: boolean, message?: string }
    if (/^2[23]/.test(e?.sqlState ?? '') || REFUSED.has(e?.errno ?? 0)) return 'refused'
    if (e?.fatal || AWAY.has(errorCode(err)) || /closed state/.test(e?.message ?? '')) return 'away'
    return 'failure'
  }

  message (err: unknown): string {
    return (err as Error)?.message ?? String(err)
  }

  async close (): Promise<void> {
    await this.driver.end().catch(() => this.driver.destroy())
  }
}

function kindOf (base: string, type: string): Kind {
  const t = base.toLowerCase()
  if (t === 'tinyint' && /^tinyint\(1\)/i.test(type)) return 'boolean'
  if (/int$/.test(t)) return 'integer'
  if (['decimal', 'float', 'double', 'real'].includes(t)) return 'number'
  if (/char$|text$/.test(t)) return 'text'
  if (t === 'json') return 'json'
  return 'other'
}
