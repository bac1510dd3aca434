// to-sql's writes into one table: the table checked (or created) against the options,
// each batch's records turned into rows, and each batch written in one transaction
// with the sink's marker in dstream_commits. It is the Target of a TransactionalSink
// (lib/ops/transactional.ts), which reads the marker, skips what was written and
// retries while the database is away.
import { BadInputError, RuntimeError } from '../../core/errors.js'
import { errorCode } from '../../core/backoff.js'
import { maskSecret } from '../../core/secrets.js'
import type { Context } from '../../core/types.js'
import type { Target } from '../../ops/transactional.js'
import { connect, type Column, type Connection, type Mode, type Plan } from './connection.js'
import { defaultNames, shapeOf, valueAt } from '../../ops/shape.js'
import { Unfit, kindOfValues, mergeByKey, rowMaker, type Merged, type RowMaker } from './rows.js'
import { COMMITS } from './statements.js'
import type { SqlUrl } from './url.js'

export interface TableOptions {
  url: SqlUrl
  table: string
  /** --columns: the columns a pair or a scalar fills, or the fields of an object that are written */
  columns?: string[]
  batchColumn?: string
  create: boolean
  mode: Mode
  key: string[]
  /** the sink's name in dstream_commits */
  sink: string
}

/** A batch's rows, ready to write, with the records each row came from (rows.ts). */
export interface Rows extends Merged {
  plan: Plan | undefined
}

/** Connection failures before a driver has classified anything: the server is not there (yet). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', '57P03'])

export class TableWriter implements Target {
  private connection: Connection | undefined
  /** the table's columns; undefined while a table to be created does not exist yet */
  private columns: Column[] | undefined
  private plan: Plan | undefined
  /** the plan's rows of records */
  private rowOf: RowMaker | undefined

  constructor (private readonly o: TableOptions, private readonly ctx: Context, private readonly say: (text: string) => void) {}

  // --- Target: the marker, and what a failure is

  async marker (): Promise<number | null> {
    const conn = await this.connected()
    return conn.readCommit(this.o.sink)
  }

  transient (err: unknown): boolean {
    if (this.connection) return this.connection.problem(err) === 'away'
    return UNREACHABLE.has(errorCode(err)) || UNREACHABLE.has(String((err as { code?: string })?.code))
  }

  describe (err: unknown): string {
    // With no connection, it could not be made. A network failure says enough in its
    // code (ECONNREFUSED); a server that answered and refused says why only in its
    // message (a wrong password: PostgreSQL's code is 28P01, MariaDB's ER_ACCESS_DENIED_ERROR).
    const text = this.connection ? this.connection.message(err) : this.transient(err) ? errorCode(err) : (err as Error)?.message || errorCode(err)
    return `${this.o.url.where}: ${maskSecret(text, this.o.url.password)}`
  }

  async reconnect (): Promise<void> {
    const old = this.connection
    this.connection = undefined
    await old?.close().catch(() => {})
  }

  async close (): Promise<void> {
    await this.connection?.close()
    this.connection = undefined
  }

  // --- the table

  /** At start: the table as the options expect it, or a clear error. */
  async check (): Promise<void> {
    const conn = await this.connected()
    this.columns = await conn.describe(this.o.table)
    if (!this.columns) {
      if (!this.o.create) throw new RuntimeError(`dstream to-sql: there is no table ${this.o.table} in ${this.o.url.where} (create it, or give --create to have it made from the first records)`)
      return
    }
    const names = this.columns.map(c => c.name)
    const unknown = [...this.o.columns ?? [], ...this.o.key, ...this.o.batchColumn ? [this.o.batchColumn] : []].filter(n => !names.includes(n))
    if (unknown.length > 0) throw this.mismatch(`table ${this.o.table} has no column ${unknown.join(', ')} (its columns: ${names.join(', ')})`)
    if (this.o.key.length > 0) {
      const unique = await conn.uniqueKeys(this.o.table)
      const same = (k: string[]) => k.length === this.o.key.length && k.every(c => this.o.key.includes(c))
      if (!unique.some(same)) throw this.mismatch(`--mode ${this.o.mode} finds rows by ${this.o.key.join(', ')}, but table ${this.o.table} has no primary key or unique index on exactly ${this.o.key.join(', ')} (e.g. ALTER TABLE ${this.o.table} ADD PRIMARY KEY (${this.o.key.join(', ')}))`)
    }
  }

  /**
   * The plan of the statements, made from the first records: which columns, in what
   * order (--columns, else a pair's key,value, a scalar's value or the table's
   * columns), and the table made first when it is to be created.
   */
  async planFor (records: unknown[]): Promise<Plan> {
    if (this.plan) return this.plan
    const conn = await this.connected()
    const first = records[0]
    const shape = shapeOf(first)
    const fromTable = this.columns && shape === 'object' && !this.o.columns
    // the columns a pair or a scalar fills, in order
    const names = this.o.columns ?? (fromTable ? this.columns!.map(c => c.name).filter(n => n !== this.o.batchColumn) : defaultNames(first))
    const written = [...names, ...this.o.batchColumn && !names.includes(this.o.batchColumn) ? [this.o.batchColumn] : []]
    if (!this.columns) {
      const valuesOf = (name: string) => records.map(r => valueAt(r, name, names))
      const made = written.map(name => ({ name, kind: name === this.o.batchColumn ? 'integer' as const : kindOfValues(valuesOf(name)) }))
      const sql = await conn.create(this.o.table, made, this.o.key)
      this.say(`created the table ${this.o.table} in ${this.o.url.where}: ${sql}`)
      this.columns = await conn.describe(this.o.table)
      if (!this.columns) throw new RuntimeError(`dstream to-sql: ${this.o.table} was created in ${this.o.url.where}, but cannot be found there`)
    }
    const missing = written.filter(n => !this.columns!.some(c => c.name === n))
    if (missing.length > 0) throw this.mismatch(`the records fill the columns ${written.join(', ')}, but table ${this.o.table} has no column ${missing.join(', ')} (say which columns with --columns)`)
    const plan: Plan = { table: this.o.table, columns: written.map(n => this.columns!.find(c => c.name === n)!), mode: this.o.mode, key: this.o.key, batchColumn: this.o.batchColumn }
    const notKeyed = this.o.key.filter(k => !written.includes(k))
    if (notKeyed.length > 0) throw this.mismatch(`--key ${notKeyed.join(', ')} is not among the columns written (${written.join(', ')})`)
    if (plan.mode === 'add') {
      const text = plan.columns.filter(c => !plan.key.includes(c.name) && c.name !== plan.batchColumn && c.kind !== 'integer' && c.kind !== 'number')
      if (text.length > 0) throw this.mismatch(`--mode add adds numbers, but ${text.map(c => `${c.name} is ${c.type}`).join(', ')} (put it in --key, or use --mode upsert)`)
    }
    // an object's field that is not a column is refused when the columns came from the table, not --columns
    this.rowOf = rowMaker(plan, names, !!fromTable, this.o.url.dialect)
    return (this.plan = plan)
  }

  /**
   * The batch's rows. A record that does not fit its columns is bad input, said
   * once here (exit 65, or the dead-letter file with --on-bad-input skip), before
   * the transaction; rows of one key are merged (rows.ts).
   */
  rows (plan: Plan | undefined, records: unknown[], time: number): Rows {
    if (!plan) return { plan, rows: [], records: [], merged: new Map() }
    const rowOf = this.rowOf!
    const rows: unknown[][] = []
    const from: unknown[] = []
    for (const record of records) {
      const row = rowOf(record, time)
      if (row instanceof Unfit) { this.ctx.badRecord(record, `${this.o.table}: ${row.reason}`); continue }
      rows.push(row)
      from.push(record)
    }
    return { plan, ...mergeByKey(plan, rows, from) }
  }

  /**
   * One transaction: the rows, and the marker. When the database refuses the rows
   * (a constraint), the transaction starts again and takes them one by one, each in
   * a savepoint, to find the records it refuses; those are bad input (exit 65, or
   * set aside once, with --on-bad-input skip, and the rest written).
   */
  async write (batch: Rows, time: number, setAside: Set<number>): Promise<void> {
    const conn = await this.connected()
    await conn.begin()
    try {
      if (batch.plan && batch.rows.length > 0) {
        try {
          await conn.writeRows(batch.plan, batch.rows)
        } catch (err) {
          if (conn.problem(err) !== 'refused') throw err
          await conn.rollback()
          await conn.begin()
          await this.oneByOne(conn, batch, setAside)
        }
      }
      await conn.writeCommit(this.o.sink, time)
      await conn.commit()
    } catch (err) {
      await conn.rollback().catch(() => {})
      if (err instanceof BadInputError || this.transient(err)) throw err
      throw new RuntimeError(`dstream to-sql: batch ${time}: cannot write to ${this.o.table} in ${this.describe(err)}`)
    }
  }

  private async oneByOne (conn: Connection, batch: Rows, setAside: Set<number>): Promise<void> {
    for (let i = 0; i < batch.rows.length; i++) {
      if (setAside.has(i)) continue
      const refused = await conn.tryRow(batch.plan!, batch.rows[i])
      if (refused === undefined) continue
      const why = `table ${this.o.table} refused it: ${maskSecret(conn.message(refused), this.o.url.password)}`
      // the records of a merged row go together; once set aside, a retry passes them over
      for (const record of batch.merged.get(i) ?? [batch.records[i]]) this.ctx.badRecord(record, why)
      setAside.add(i)
    }
  }

  private async connected (): Promise<Connection> {
    if (!this.connection) {
      this.connection = await connect(this.o.url)
      if (await this.connection.ensureCommits()) this.say(`created the table ${COMMITS} in ${this.o.url.where}: it holds the last batch each to-sql sink has written`)
    }
    return this.connection
  }

  private mismatch (what: string): RuntimeError {
    return new RuntimeError(`dstream to-sql: ${what}`)
  }
}

