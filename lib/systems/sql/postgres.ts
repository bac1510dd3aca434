// PostgreSQL through pg: one client, rows sent as one INSERT ... SELECT FROM
// unnest($1::type[], $2::type[], ...) per ROWS_PER_STATEMENT rows: a column's values
// travel as one array parameter, so the statement text is the same whatever the
// number of rows, prepared once per connection (a named statement), and ON CONFLICT
// makes the upsert and the add. (COPY would be as fast for plain inserts, but cannot
// upsert, and needs a driver of its own.)
import { createHash } from 'node:crypto'
import type { Client } from 'pg'
import { errorCode } from '../../core/backoff.js'
import type { Column, Connection, Kind, Plan, Problem } from './connection.js'
import { CREATE_COMMITS, conflictClause, createTable, insertHead, quote, readCommit, writeCommit } from './statements.js'
import type { SqlUrl } from './url.js'

const ROWS_PER_STATEMENT = 10000

/** The server going away, restarting, starting or full; a transaction to try again. */
const AWAY_STATES = /^(08|57P0[123]|53300|40001|40P01)/
const AWAY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'])

export class PostgresConnection implements Connection {
  readonly dialect = 'postgres'
  private lost: Error | undefined

  private constructor (private readonly client: Client) {
    client.on('error', err => { this.lost = err })
  }

  static async open (url: SqlUrl): Promise<PostgresConnection> {
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: url.url })
    // an error while connecting is also emitted; connect() reports it
    client.on('error', () => {})
    await client.connect()
    return new PostgresConnection(client)
  }

  private async run (sql: string, values: unknown[] = [], name?: string): Promise<Array<Record<string, unknown>>> {
    if (this.lost) throw this.lost
    const result = await this.client.query({ text: sql, values, name })
    return result.rows
  }

  async describe (table: string): Promise<Column[] | undefined> {
    const rows = await this.run(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS base
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [quote('postgres', table)])
    if (rows.length === 0) return undefined
    return rows.map(r => ({ name: String(r.name), type: String(r.type), kind: kindOf(String(r.base)) }))
  }

  async uniqueKeys (table: string): Promise<string[][]> {
    const rows = await this.run(
      `SELECT array_agg(a.attname::text ORDER BY k.n) AS cols
         FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
        GROUP BY i.indexrelid`,
      [quote('postgres', table)])
    return rows.map(r => r.cols as string[])
  }

  async create (table: string, columns: Array<{ name: string, kind: Kind }>, key: string[]): Promise<string> {
    const sql = createTable('postgres', table, columns, key)
    await this.run(sql)
    return sql
  }

  async ensureCommits (): Promise<boolean> {
    // Two sinks of one pipeline start at once, and PostgreSQL's CREATE TABLE IF NOT
    // EXISTS is not safe against a concurrent one (a unique violation on pg_type): the
    // look and the creation hold a lock of their own until the transaction ends.
    await this.run('BEGIN')
    try {
      await this.run('SELECT pg_advisory_xact_lock(hashtext($1))', ['dstream_commits'])
      const there = await this.run('SELECT to_regclass($1) IS NOT NULL AS there', ['dstream_commits'])
      if (!there[0].there) await this.run(CREATE_COMMITS)
      await this.run('COMMIT')
      return !there[0].there
    } catch (err) {
      await this.rollback().catch(() => {})
      throw err
    }
  }

  async readCommit (sink: string): Promise<number | null> {
    const rows = await this.run(readCommit('postgres'), [sink])
    return rows.length === 0 ? null : Number(rows[0].batch_time)
  }

  async begin (): Promise<void> { await this.run('BEGIN') }
  async commit (): Promise<void> { await this.run('COMMIT') }
  async rollback (): Promise<void> { if (!this.lost) await this.run('ROLLBACK') }

  async writeCommit (sink: string, time: number): Promise<void> {
    await this.run(writeCommit('postgres'), [sink, time], 'dstream_commit')
  }

  async writeRows (plan: Plan, rows: unknown[][]): Promise<void> {
    const { text, name } = this.insert(plan)
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const slice = rows.slice(i, i + ROWS_PER_STATEMENT)
      await this.run(text, plan.columns.map((_, j) => slice.map(row => row[j])), name)
    }
  }

  async tryRow (plan: Plan, row: unknown[]): Promise<unknown> {
    await this.run('SAVEPOINT dstream_row')
    try {
      const { text, name } = this.insert(plan)
      await this.run(text, row.map(value => [value]), name)
      await this.run('RELEASE SAVEPOINT dstream_row')
      return undefined
    } catch (err) {
      if (this.problem(err) !== 'refused') throw err
      await this.run('ROLLBACK TO SAVEPOINT dstream_row')
      return err
    }
  }

  private insert (plan: Plan): { text: string, name: string } {
    const arrays = plan.columns.map((c, j) => `$${j + 1}::${c.type}[]`).join(', ')
    const text = `${insertHead('postgres', plan)} SELECT * FROM unnest(${arrays})${conflictClause('postgres', plan)}`
    return { text, name: 'dstream_' + createHash('sha1').update(text).digest('hex').slice(0, 16) }
  }

  problem (err: unknown): Problem {
    const code = String((err as { code?: string })?.code ?? '')
    if (/^2[23]/.test(code)) return 'refused'
    if (AWAY_STATES.test(code) || AWAY_CODES.has(errorCode(err)) || /Connection terminated|not queryable|connection error/i.test((err as Error)?.message ?? '')) return 'away'
    return 'failure'
  }

  message (err: unknown): string {
    const e = err as { message?: string, column?: string, constraint?: string, detail?: string }
    const about = [e.column && `column ${e.column}`, e.constraint && `constraint ${e.constraint}`, e.detail].filter(Boolean).join('; ')
    return `${e.message ?? String(err)}${about ? ` (${about})` : ''}`
  }

  async close (): Promise<void> {
    await this.client.end().catch(() => {})
  }
}

function kindOf (base: string): Kind {
  if (['int2', 'int4', 'int8'].includes(base)) return 'integer'
  if (['float4', 'float8', 'numeric'].includes(base)) return 'number'
  if (['text', 'varchar', 'bpchar', 'name', 'citext'].includes(base)) return 'text'
  if (base === 'bool') return 'boolean'
  if (base === 'json' || base === 'jsonb') return 'json'
  return 'other'
}
