// Spark: foreachRDD writing into a database over JDBC, in the pattern Spark's guide
// recommends (a connection kept across batches, statements batched in a transaction)
// made exactly once with Spark's "transactional updates": each batch and its batch
// time commit together (lib/ops/transactional.ts, lib/systems/sql/writer.ts).
import { DstreamError, RuntimeError, usage } from '../lib/core/errors.js'
import type { OperatorDefinition } from '../lib/core/types.js'
import { nameOf } from '../lib/durability/component.js'
import { TRANSACTIONAL_OPTIONS, TransactionalSink } from '../lib/ops/transactional.js'
import type { Mode } from '../lib/systems/sql/connection.js'
import { parseSqlUrl, urlFrom } from '../lib/systems/sql/url.js'
import { TableWriter } from '../lib/systems/sql/writer.js'

interface ToSqlOptions {
  url?: string
  urlFile?: string
  table: string
  columns?: string
  batchColumn?: string
  create: boolean
  mode: Mode
  key?: string
  giveUp?: string
  pass: boolean
}

const list = (text: string | undefined) => text === undefined ? undefined : text.split(',').map(w => w.trim()).filter(w => w !== '')

const toSql: OperatorDefinition<ToSqlOptions> = {
  kind: 'operator',
  name: 'to-sql',
  spark: 'foreachRDD + a JDBC connection',
  group: 'outputs',
  summary: 'every batch into a SQL table (SQLite, MariaDB/MySQL, PostgreSQL), in one transaction, exactly once',
  description: `
Writes the records of every batch into the table --table of the database URL:

  sqlite:PATH                         a file, no server (the embedded default)
  mysql://USER:PASS@HOST:PORT/DB      MariaDB or MySQL (mariadb:// too)
  postgres://USER:PASS@HOST:PORT/DB   PostgreSQL (postgresql:// too)

Its tests run against SQLite 3.53, MariaDB 10.11 and PostgreSQL 15. MySQL 8 is not
among them (it is not packaged where they run); to-sql uses only what MySQL shares
with MariaDB (ON DUPLICATE KEY UPDATE with VALUES(), which MySQL 8.0.20 and later
deprecate but run).

The URL may also come from --url-file FILE or $DSTREAM_SQL_URL, so that a password
need not stand on a command line; wherever a URL is said or kept (messages, the
state directory), its password shows as ***.

Records become rows: an object's fields go to the columns of the same names; a
pair [k, v] fills two columns, key and value unless --columns names them (e.g.
--columns word,count); any other value fills one column, value unless --columns
names it. With --columns, an object's other fields are left out; without it, a
field that is not a column of the table is bad input, and a column the record lacks
is NULL. --batch-column NAME also writes the batch time (ms) into NAME. A value is
checked against its column's type before it is sent (a string for an integer
column is bad input, naming the column).

--mode insert (the default) appends the rows. --mode upsert --key COLS replaces the
other columns of the row with the same COLS, or inserts it: running totals, such as
update-state-by-key's. --mode add --key COLS adds the rows' numbers to the stored
ones (count = count + excluded.count; a stored NULL counts as 0): per-batch counts,
such as reduce-by-key's. COLS must be the table's primary key or a unique index.
Rows of one key within a batch are merged first (upsert: the last wins; add: summed),
and a batch column is set, never added.

Without --create, a table that does not exist stops to-sql at start (exit 1). With
--create, a missing table is created from the first records, and to-sql says the
statement it ran: types from the values (whole numbers BIGINT, other numbers DOUBLE,
strings TEXT, booleans BOOLEAN, objects and arrays JSON), the --key columns as its
primary key. Names are used as given, quoted: a PostgreSQL table made unquoted as
WordCount is wordcount.

Exactly once: every batch is written in ONE transaction, which also sets the sink's
row in the table dstream_commits (sink, batch_time) of the same database (made when
missing) to the batch time. Started again, to-sql reads it and skips every batch up
to it, so the batches a restarted pipeline replays are written once: after any
number of kill -9s the tables equal an uninterrupted run's, in every mode, add
included. The sink's name is its name in the state directory (--name).

The course walks through five ways to write from foreachRDD: (1) a connection
made on the driver and used on the executors, which cannot be shipped there; (2) a
connection per record, which pays a connection for every row; (3) a connection per
partition (foreachPartition), one per partition and batch; (4) a static pool of
connections made lazily and kept across batches; (5) that pool with each partition's
rows sent as batched statements in one transaction. to-sql is the fifth: a to-sql
process lives as long as its stream, so it keeps ONE connection for its life (a pool
of one: a batch is one transaction, and batches are written in order), with its
statements prepared once (SQLite: one row per execution of a prepared statement, the
fastest there; MariaDB/MySQL: INSERTs of up to 1000 rows; PostgreSQL: one INSERT ...
SELECT FROM unnest() of up to 10,000 rows, the columns as arrays), and it adds what
the course leaves to the reader: the batch and its marker in the same transaction.

A database that is down or restarts is retried with backoff (100 ms doubling to
5 s), said on stderr; the pipeline waits meanwhile and loses nothing: before each new
attempt the marker is read, since a commit whose answer was lost may have landed.
--give-up DUR stops to-sql with exit 1 once the database has been unreachable that
long. A row the database refuses (a constraint, a value its column will not take)
stops to-sql with exit 65, naming the table, the column, the batch time and the
record; with --on-bad-input skip the record goes to the dead-letter file and the rest
of its batch is still written, once.

Writes nothing on stdout unless --pass, which forwards the batches unchanged.`,
  positionals: [{ name: 'URL', key: 'url', describe: 'the database: sqlite:PATH, mysql://..., postgres://... (default: --url-file, else $DSTREAM_SQL_URL)', optional: true, secret: true }],
  options: {
    table: { type: 'string', meta: 'T', demandOption: true, describe: 'the table to write into (schema.table allowed)' },
    'url-file': { type: 'string', meta: 'FILE', describe: 'read the database URL from FILE' },
    columns: { type: 'string', meta: 'LIST', describe: "the columns a pair or a value fills (default key,value; value), or an object's fields to write" },
    'batch-column': { type: 'string', meta: 'NAME', describe: 'also write the batch time (ms) into this column' },
    create: { type: 'boolean', default: false, runOnly: true, describe: 'create a missing table from the first records, and say what was created' },
    mode: { type: 'string', choices: ['insert', 'upsert', 'add'], default: 'insert', describe: 'append rows; replace the row of the same --key; or add the numbers to it' },
    key: { type: 'string', meta: 'COLS', describe: 'upsert and add: the columns a row is found by (a unique key)' },
    ...TRANSACTIONAL_OPTIONS
  },
  examples: [
    { command: "to-sql sqlite:wc.db --table wordcount --columns word,count --mode upsert --key word --create", describe: 'running counts from update-state-by-key, kept one row per word' },
    { command: 'to-sql --table wordcount_batches --columns word,count --batch-column ts', describe: 'per-batch counts appended, the database from $DSTREAM_SQL_URL' },
    { command: "to-sql postgres://stats:secret@db/stats --table course_clickcount --columns day_course,click_count --mode add --key day_course", describe: 'clicks per day and course added batch by batch' }
  ],
  input: 'batches',
  sink: true,
  async init (opts, ctx) {
    const text = urlFrom(opts.url, opts.urlFile, process.env)
    if (text === undefined) throw usage(toSql, 'no database: give a URL, --url-file FILE or $DSTREAM_SQL_URL')
    const url = parseSqlUrl(text)
    if (typeof url === 'string') throw usage(toSql, url)
    const key = list(opts.key) ?? []
    if (opts.mode !== 'insert' && key.length === 0) throw usage(toSql, `--mode ${opts.mode} needs --key COLS: the columns a row is found by`)
    if (opts.mode === 'insert' && key.length > 0) throw usage(toSql, '--key is for --mode upsert and add; --mode insert appends every row')
    const columns = list(opts.columns)
    if (columns && opts.batchColumn && columns.includes(opts.batchColumn)) throw usage(toSql, `--batch-column ${opts.batchColumn} is also in --columns`)
    const name = nameOf(toSql, opts)
    const say = (line: string) => ctx.stderr(`dstream to-sql: ${line}\n`)
    const writer = new TableWriter({ url, table: opts.table, columns, batchColumn: opts.batchColumn, create: opts.create, mode: opts.mode, key, sink: name }, ctx, say)
    // the database being away ends to-sql only once --give-up has run out: said, or the last retry's message would read as one more
    const failed = (what: string, err: unknown) => err instanceof DstreamError
      ? err
      : new RuntimeError(`dstream to-sql: ${what}: ${writer.describe(err)}${writer.transient(err) ? `; given up after --give-up ${opts.giveUp}` : ''}`)

    let sink: TransactionalSink
    try {
      sink = await TransactionalSink.open(writer, toSql, opts, say)
      await sink.retry('at start', () => writer.check())
    } catch (err) {
      // worded before the connection closes: its driver tells the failure best
      const error = failed('at start', err)
      await writer.close().catch(() => {})
      throw error
    }
    if (sink.written !== null) say(`batches up to ${sink.written} are in ${url.where} already (dstream_commits, sink ${name}); those that come again are skipped`)

    return {
      passes: opts.pass,
      async onBatch (records, batch) {
        if (!sink.has(batch.time)) {
          try {
            const plan = records.length > 0 ? await sink.retry(`batch ${batch.time}`, () => writer.planFor(records)) : undefined
            const rows = writer.rows(plan, records, batch.time)
            // rows the database refused and that were set aside: a retry of the batch passes them over
            const setAside = new Set<number>()
            await sink.write(batch.time, () => writer.write(rows, batch.time, setAside))
          } catch (err) {
            throw failed(`batch ${batch.time}`, err)
          }
        }
        return opts.pass ? records : undefined
      },
      async onEnd () { await writer.close() },
      async onAbort () { await writer.close().catch(() => {}) }
    }
  }
}

export default toSql
