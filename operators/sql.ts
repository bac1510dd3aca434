// Spark: foreachRDD → toDF → createOrReplaceTempView("batch") → spark.sql(...), the
// course's SQL on a stream, run by DuckDB in this process (lib/systems/duckdb/). After a
// window, the query runs once per window.
import { DstreamError, UsageError, usage } from '../lib/core/errors.js'
import type { OperatorDefinition } from '../lib/core/types.js'
import type { As } from '../lib/systems/duckdb/results.js'

interface SqlOperatorOptions {
  query: string
  columns?: string
  schema?: string
  as: As
  table: string[]
}

const sql: OperatorDefinition<SqlOperatorOptions> = {
  kind: 'operator',
  name: 'sql',
  spark: 'foreachRDD + toDF + spark.sql (SQL per batch)',
  group: 'per batch',
  summary: 'a SQL query on every batch (and every window), run by DuckDB',
  description: `
Runs QUERY on every batch, over the batch's records as the table batch, and emits the
result's rows as the batch, with its time and interval; after a window, once per
window. The engine is DuckDB, in this process: its SQL, functions and types (GROUP
BY ALL, QUALIFY, ->> on JSON, list and struct values...).

Records to rows: an object's fields are columns; a pair [k, v] fills key and value,
a scalar value (--columns names them: --columns word,n). The columns and their types
come from --schema ('word VARCHAR, n BIGINT'), else from the first records: numbers
DOUBLE (a later batch may hold fractions), strings VARCHAR, booleans BOOLEAN, objects,
arrays and mixed values JSON. Until the first records (or --schema) fix the columns
there is no table: an empty batch before them gives an empty result (with --schema
the query runs on every batch, count(*) giving 0 on an empty one). A record that does
not fit the columns (a field that is no column, a string for a number) is bad input:
exit 65 naming the batch, the column and the record, or with --on-bad-input skip it
is set aside and the rest of the batch is queried.

The batch time (ms) is the parameter $batch_time: SELECT $batch_time AS ts, ...

Rows to records: objects by default; --as pairs makes each row of two columns a pair
[k, v] (so sql feeds reduce-by-key, update-state-by-key, to-sql...); --as values each
row of one column its value. Whole numbers come as numbers (as strings when larger
than 2^53), timestamps as ISO strings, JSON columns as their values.

--table NAME=FILE (repeatable) adds a table read from FILE by its extension: CSV (and
anything else), .parquet, .json (an array or lines), .ndjson or .jsonl: Spark's
stream-static join. When the file changes it is read again before the next batch; a
file that has gone or cannot be read leaves the table as it was, said once.

A query DuckDB cannot parse is a usage error at start (exit 2, with DuckDB's message
and the position); one it cannot bind too, at start with --schema, else at the first
records. The query is prepared once, when the columns are known; the batch's records
reach DuckDB in data chunks of its vector size as the query scans them (a table
function under the view batch), with no table filled and emptied per batch.`,
  positionals: [{ name: 'QUERY', key: 'query', describe: "the SQL query, over the table batch: 'SELECT word, count(*) AS total FROM batch GROUP BY word'" }],
  options: {
    columns: { type: 'string', meta: 'LIST', describe: 'the columns a pair or a value fills (default: key,value; value)' },
    schema: { type: 'string', meta: 'COLUMNS', describe: "batch's columns and types, as DuckDB column definitions: 'word VARCHAR, n BIGINT' (default: from the first records)" },
    as: { type: 'string', choices: ['objects', 'pairs', 'values'], default: 'objects', describe: 'rows as objects, as pairs [k, v] (two columns), or as values (one column)' },
    table: { type: 'string', array: true, nargs: 1, meta: 'NAME=FILE', describe: 'a table from a CSV, Parquet, JSON or NDJSON file, read again when it changes (repeatable)' }
  },
  examples: [
    {
      command: "sql --columns word 'SELECT word, count(*) AS total FROM batch GROUP BY word ORDER BY word'",
      describe: 'the word count of every batch (after flat-map splitting lines into words)',
      input: [['to', 'be', 'or', 'not', 'to', 'be'], []],
      output: [[{ word: 'be', total: 2 }, { word: 'not', total: 1 }, { word: 'or', total: 1 }, { word: 'to', total: 2 }], []]
    },
    {
      command: "sql --as pairs 'SELECT key, sum(value) FROM batch GROUP BY key' | dstream update-state-by-key '(vs, s = 0) => vs.reduce((a, b) => a + b, s)'",
      describe: 'per-batch sums as pairs, then running totals'
    },
    {
      command: "sql --table users=users.csv 'SELECT u.country, count(*) AS clicks FROM batch b JOIN users u ON b.user = u.id GROUP BY ALL'",
      describe: 'clicks per country: the stream joined with a CSV file, read again when it changes'
    },
    {
      command: "sql --schema 'ip VARCHAR, ts TIMESTAMP, status INTEGER' 'SELECT $batch_time AS batch, status, count(*) AS n FROM batch GROUP BY status'",
      describe: 'typed columns, and the batch time in every row'
    }
  ],
  input: 'batches',
  async init (opts, ctx) {
    const tables: Array<{ name: string, file: string }> = []
    for (const spec of [].concat((opts.table ?? []) as never[]) as string[]) {
      const at = spec.indexOf('=')
      const name = spec.slice(0, at)
      if (at < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw usage(sql, `--table ${spec}: expected NAME=FILE, NAME a plain SQL name`)
      if (name.toLowerCase() === 'batch') throw usage(sql, '--table batch: batch is the name of the stream\'s table')
      tables.push({ name, file: spec.slice(at + 1) })
    }
    const columns = opts.columns === undefined ? undefined : opts.columns.split(',').map(c => c.trim()).filter(c => c !== '')
    if (columns && (columns.length < 1 || columns.length > 2)) throw usage(sql, `--columns names the one or two columns a value or a pair fills, got ${opts.columns}`)
    // DuckDB loads here, not when the operators are listed
    const { BatchSql } = await import('../lib/systems/duckdb/engine.js')
    const asUsage = (err: unknown) => err instanceof UsageError ? usage(sql, err.message) : err
    let engine: Awaited<ReturnType<typeof BatchSql.open>>
    try {
      engine = await BatchSql.open({ query: opts.query, schema: opts.schema, columns, tables, as: opts.as }, ctx)
    } catch (err) {
      throw asUsage(err)
    }
    return {
      async onBatch (records, batch) {
        try {
          return await engine.run(records, batch.time)
        } catch (err) {
          if (err instanceof DstreamError) throw asUsage(err)
          throw err
        }
      },
      onEnd () { engine.close() },
      onAbort () { engine.close() }
    }
  }
}

export default sql
