// SQL on every batch with DuckDB, in process. The batch's records are the rows of a
// table function, dstream_batch(), which hands DuckDB the batch in data chunks of its
// vector size as the query scans it (made as the records are read, never an INSERT
// per row, nor a table filled and emptied every batch); the query sees it as the view
// `batch`, whose columns --schema gives or the first records make, and has the batch
// time as the parameter $batch_time. Static tables from files (--table NAME=FILE:
// CSV, Parquet, JSON or NDJSON) sit beside it and are read again when their file
// changes.
//
// The query is prepared once, when the columns are known. A table function has no
// statistics, so the plan does not depend on the data of the batch it was made on
// (a plan prepared on a table, then run on other data, can be wrong in DuckDB:
// duckdb/duckdb#23704; here a GROUP BY prepared on an empty table gave 4 groups of
// 10,000 once the table was filled).
import fs from 'node:fs'
import { DuckDBInstance, DuckDBTableFunction, VARCHAR, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api'
import { UsageError, excerpt } from '../../core/errors.js'
import type { Context } from '../../core/types.js'
import { shapeOf } from '../../ops/shape.js'
import { Unfit, converterOf, inferColumns, loadsAsText, type Column } from './columns.js'
import { recordsOf, type As } from './results.js'

export interface SqlOptions {
  query: string
  /** --schema: the columns of `batch`, as DuckDB column definitions */
  schema?: string
  /** --columns: the columns a pair or a scalar fills */
  columns?: string[]
  /** --table NAME=FILE */
  tables: Array<{ name: string, file: string }>
  as: As
}

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK = 2048
const ROWS = 'dstream_batch'

const quoteId = (name: string) => '"' + name.replace(/"/g, '""') + '"'
const quoteText = (text: string) => "'" + text.replace(/'/g, "''") + "'"

export class BatchSql {
  private columns: Column[] | undefined
  private converters: Array<(value: unknown) => unknown> = []
  private readonly statics: StaticTable[]
  private prepared: DuckDBPreparedStatement | undefined
  /** the batch being queried: its rows, column by column, a data chunk's worth each */
  private chunks: Array<{ values: unknown[][], rows: number }> = []

  private constructor (private readonly connection: DuckDBConnection, private readonly o: SqlOptions, private readonly ctx: Context) {
    this.statics = o.tables.map(t => new StaticTable(t.name, t.file, connection, ctx))
  }

  /** DuckDB started, the query parsed (and prepared, when --schema gives the columns), the static tables read. */
  static async open (o: SqlOptions, ctx: Context): Promise<BatchSql> {
    const instance = await DuckDBInstance.create(':memory:')
    const connection = await instance.connect()
    const sql = new BatchSql(connection, o, ctx)
    let count: number
    try {
      count = (await connection.extractStatements(o.query)).count
    } catch (err) {
      throw new UsageError(`the query does not parse: ${(err as Error).message}`)
    }
    if (count !== 1) throw new UsageError(`the query must be one statement, it is ${count}`)
    for (const t of sql.statics) await t.load()
    if (o.schema !== undefined) await sql.define(await schemaColumns(connection, o.schema))
    return sql
  }

  /** The query's result on this batch's records; [] while no records (nor --schema) have given `batch` its columns. */
  async run (records: unknown[], time: number): Promise<unknown[]> {
    for (const t of this.statics) await t.refresh()
    if (!this.columns) {
      // the columns come with the first records; until then there is no table to query
      if (records.length === 0) return []
      await this.define(inferColumns(records, this.o.columns))
    }
    this.chunks = this.rows(records)
    const prepared = this.prepared!
    if (prepared.parameterCount > 0) prepared.bindBigInt(1, BigInt(time))
    let result
    try {
      result = await prepared.runAndReadAll()
    } catch (err) {
      this.ctx.badRecord({ query: this.o.query }, `the query failed on this batch: ${(err as Error).message}`)
      return []
    } finally {
      this.chunks = []
    }
    const out = recordsOf(result, this.o.as)
    if (typeof out === 'string') throw new UsageError(out)
    return out
  }

  close (): void {
    this.connection.closeSync()
  }

  /**
   * The columns fixed: the table function of the batch's rows, the view `batch` over
   * it (text for the types a data chunk is not filled with from JSON values, cast
   * there), and the query prepared on it; a query DuckDB cannot bind is a usage error.
   */
  private async define (columns: Column[]): Promise<void> {
    this.columns = columns
    this.converters = columns.map(converterOf)
    const types = columns.map(c => loadsAsText(c) ? VARCHAR : c.type)
    this.connection.registerTableFunction(DuckDBTableFunction.create({
      name: ROWS,
      parameterTypes: [],
      bindFunction: info => { columns.forEach((c, i) => info.addResultColumn(c.name, types[i])) },
      initFunction: info => { info.setInitData({ next: 0 }) },
      mainFunction: (info, output) => {
        const scan = info.initData as { next: number }
        const chunk = this.chunks[scan.next++]
        // a row count of zero ends the scan
        output.rowCount = chunk?.rows ?? 0
        if (chunk) output.setColumns(chunk.values as any)
      }
    }))
    const view = columns.map(c => loadsAsText(c) ? `CAST(${quoteId(c.name)} AS ${c.type.toString()}) AS ${quoteId(c.name)}` : quoteId(c.name))
    await this.connection.run(`CREATE OR REPLACE VIEW batch AS SELECT ${view.join(', ')} FROM ${ROWS}()`)
    try {
      this.prepared = await this.connection.prepare(this.o.query)
    } catch (err) {
      throw new UsageError(`the query does not bind: ${(err as Error).message}`)
    }
    for (let i = 1; i <= this.prepared.parameterCount; i++) {
      const name = this.prepared.parameterName(i)
      if (name !== 'batch_time') throw new UsageError(`the query's parameter $${name} is not known: the only one is $batch_time, the batch time in ms`)
    }
  }

  /**
   * The batch's records as data chunks, column by column, each filled as the
   * records are read; a record that does not fit is bad input.
   */
  private rows (records: unknown[]): Array<{ values: unknown[][], rows: number }> {
    const columns = this.columns!
    const names = columns.map(c => c.name)
    const known = new Set(names)
    const width = columns.length
    const chunks: Array<{ values: unknown[][], rows: number }> = []
    let values: unknown[][] = names.map(() => new Array(CHUNK))
    let n = 0
    for (const record of records) {
      // a row that does not fit is left half written at row n, and written over by the next
      const unfit = this.fill(record, names, known, width, values, n)
      if (unfit) { this.ctx.badRecord(record, unfit.reason); continue }
      if (++n === CHUNK) {
        chunks.push({ values, rows: n })
        values = names.map(() => new Array(CHUNK))
        n = 0
      }
    }
    if (n > 0) chunks.push({ values: values.map(column => column.slice(0, n)), rows: n })
    return chunks
  }

  /** Writes a record's values, fitted to their columns, at row `n`; or why it does not fit. */
  private fill (record: unknown, names: string[], known: Set<string>, width: number, values: unknown[][], n: number): Unfit | undefined {
    const shape = shapeOf(record)
    if (shape === 'object') {
      for (const field in record as object) if (!known.has(field)) return new Unfit(`batch has no column ${field} (its columns: ${names.join(', ')})`)
      const obj = record as Record<string, unknown>
      for (let c = 0; c < width; c++) {
        const value = this.converters[c](obj[names[c]])
        if (value instanceof Unfit) return value
        values[c][n] = value
      }
      return undefined
    }
    const given = shape === 'pair' ? record as unknown[] : [record]
    if (given.length !== width) return new Unfit(`a ${shape === 'pair' ? 'pair' : 'value'} cannot fill the columns ${names.join(', ')}`)
    for (let c = 0; c < width; c++) {
      const value = this.converters[c](given[c])
      if (value instanceof Unfit) return value
      values[c][n] = value
    }
    return undefined
  }
}

/** --schema's columns, as DuckDB reads them: a definition it refuses is a usage error with its words. */
async function schemaColumns (connection: DuckDBConnection, schema: string): Promise<Column[]> {
  try {
    await connection.run(`CREATE OR REPLACE TEMP TABLE dstream_schema (${schema})`)
    const probe = await connection.runAndReadAll('SELECT * FROM dstream_schema LIMIT 0')
    const names = probe.columnNames()
    const types = probe.columnTypes()
    await connection.run('DROP TABLE dstream_schema')
    return names.map((name, i) => ({ name, type: types[i] }))
  } catch (err) {
    throw new UsageError(`--schema ${excerpt(schema)}: ${(err as Error).message}`)
  }
}

/** A table from a file (--table NAME=FILE), read again when the file changes; kept as it was when the new one cannot be read. */
class StaticTable {
  private seen = ''
  private complained = ''

  constructor (readonly name: string, readonly file: string, private readonly connection: DuckDBConnection, private readonly ctx: Context) {}

  async load (): Promise<void> {
    const stat = signature(this.file)
    if (stat === undefined) throw new UsageError(`--table ${this.name}=${this.file}: no such file`)
    try {
      await this.read()
    } catch (err) {
      throw new UsageError(`--table ${this.name}=${this.file}: ${(err as Error).message}`)
    }
    this.seen = stat
  }

  async refresh (): Promise<void> {
    const stat = signature(this.file)
    if (stat === this.seen || stat === undefined && this.complained === 'gone') return
    if (stat === undefined) {
      this.complained = 'gone'
      this.ctx.stderr(`dstream sql: --table ${this.name}: ${this.file} is gone; keeping the table as it was\n`)
      return
    }
    try {
      await this.read()
      this.seen = stat
      this.complained = ''
    } catch (err) {
      if (this.complained !== stat) this.ctx.stderr(`dstream sql: --table ${this.name}: ${this.file} cannot be read (${(err as Error).message}); keeping the table as it was\n`)
      this.complained = stat
    }
  }

  private async read (): Promise<void> {
    const f = quoteText(this.file)
    const reader = /\.parquet$/i.test(this.file)
      ? `read_parquet(${f})`
      : /\.(ndjson|jsonl)$/i.test(this.file)
        ? `read_json_auto(${f}, format = 'newline_delimited')`
        : /\.json$/i.test(this.file) ? `read_json_auto(${f})` : `read_csv_auto(${f})`
    await this.connection.run(`CREATE OR REPLACE TABLE ${quoteId(this.name)} AS SELECT * FROM ${reader}`)
  }
}

/** What a file looks like now (size, time, inode): a change of it means a rewrite; undefined when it is not there. */
function signature (file: string): string | undefined {
  try {
    const s = fs.statSync(file)
    return `${s.size}:${s.mtimeMs}:${s.ino}`
  } catch {
    return undefined
  }
}

