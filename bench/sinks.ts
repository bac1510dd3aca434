// bench/sinks: rows per second through `dstream to-sql` into SQLite, MariaDB and
// PostgreSQL, and commands per second through `dstream to-redis`, each beside a bare
// client loop doing the same batched transactional writes with the same driver, in
// the same run. Against the services of scripts/{mariadb,postgres,redis}/server.sh; a
// store whose server does not answer is skipped, saying so.
//   npm run bench:sinks                          (1,000,000 records)
//   ROWS=200000 npm run bench:sinks              (or: node dist/bench/sinks.js 200000)
// Other knobs: STORES (sqlite,mariadb,postgres,redis), MODES (insert,add: to-sql's
// --mode), BATCH (50000 records a batch), KEYS (100000 distinct words), RUNS (3),
// MARIADB_URL, POSTGRES_URL, REDIS_URL (the test services by default), SQLITE_DIR
// (os.tmpdir(), on the project's disk here), RUN_TIMEOUT (seconds; default 10 times
// the bare loop's), CPU_PROF=DIR (node --cpu-prof for the dstream processes).
//
// The input: ROWS pair records ["word123", n] (n from 1 to 10), the words from a space
// of KEYS, in batches of BATCH records: 50,000 is what a 1 s batch interval holds at
// the 50,000 rows/s target. Each batch is in chunks of 1,000 records with "more", as
// `dstream batch` and the other sources emit them (their --chunk default), so the sink
// assembles batches the way it does in a pipeline. Within a batch the words are
// distinct, as reduce-by-key hands them to `to-sql --mode add` (the course's use), so
// every run writes the same rows and nothing is merged: --mode insert appends ROWS
// rows; --mode add --key word adds into KEYS rows, every row an update from the third
// batch on (at the defaults). The file is made once, in bench/data/.
//
// Both sides run as users run them, each in a process of its own with the file on
// its stdin, timed from spawn to exit: `dstream to-sql URL ... < FILE`, and the bare
// loop as `node dist/bench/sinks.js --bare STORE MODE URL TARGET SINK < FILE`. In a
// process of its own rather than in this one, the bare loop pays node's start and
// JIT warm-up as dstream does, every run (in here, runs 2 and 3 would reuse code
// compiled in run 1), and both are measured alike: CPU seconds from bash's `times`,
// peak RSS from /proc. What a process costs whatever the records (start, loading,
// connecting, checking the table) is measured apart, over one empty batch: "fixed
// cost"; it is in every run's time.
//
// The bare loop is what a careful user writes by hand for the same guarantee: stdin
// read with readline, chunks joined into batches, ONE connection, and per batch one
// transaction with the rows and the upsert of a marker row in dstream_commits (as
// to-sql's), the marker read once at start. The statements are to-sql's strategy per
// database, which is what each driver does best: SQLite (better-sqlite3): one
// prepared INSERT run per row in db.transaction(); MariaDB (mysql2): multi-row
// INSERTs of 1,000 rows, prepared (execute); PostgreSQL (pg): a named INSERT ...
// SELECT FROM unnest($1::text[], $2::bigint[]) of up to 10,000 rows, a column to an
// array. --mode add is ON CONFLICT / ON DUPLICATE KEY adding to count. Redis
// (ioredis): per batch client.multi() with an HINCRBY per record and the SET of a
// marker key, exec() (one round trip: ioredis pipelines a MULTI); to-redis gets the
// same HINCRBYs from --hincrby, and from a function (FN) in a second run. Every run
// writes into a table or key of its own, created before the clock starts
// (dstream_commits too) and checked after it stops: row count and the sum of count.
// Tables, keys and marker rows are dropped at the end.
//
// Each pair runs RUNS times, bare loop and dstream alternating, so that a change in
// the machine's load falls on both; the table shows the median run (by wall time),
// the range of the wall times, and "of bare" compares medians. "server" is the CPU
// seconds the database server's processes used meanwhile (read from /proc, local
// servers only): on 2 cores the server and the client share the machine, so a
// client that needs less CPU leaves more to the server. Anything else the machine
// does (other tests on the same servers) shows in both; CPU s is steadier than the
// wall time then. Targets (the issue): dstream >= 80% of the bare loop's rate
// everywhere, and >= 50,000 rows/s into SQLite and PostgreSQL.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin')
const N = Number(process.env.ROWS ?? (/^\d+$/.test(process.argv[2] ?? '') ? process.argv[2] : 1_000_000))
const BATCH = Number(process.env.BATCH ?? 50_000)
const KEYS = Number(process.env.KEYS ?? 100_000)
const RUNS = Number(process.env.RUNS ?? 3)
/** records in one chunk of the input: the sources' --chunk default */
const CHUNK = 1000
const INTERVAL = 1000
const STORES = (process.env.STORES ?? 'sqlite,mariadb,postgres,redis').split(',')
const MODES = (process.env.MODES ?? 'insert,add').split(',') as Mode[]
const MARIADB_URL = process.env.MARIADB_URL ?? 'mysql://dstream:dstream-secret@127.0.0.1:13306/dstream'
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://dstream:dstream-secret@127.0.0.1:15432/dstream'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const CPU_PROF = process.env.CPU_PROF
/** to-sql's statement sizes (lib/systems/sql/mysql.ts, lib/systems/sql/postgres.ts) */
const MYSQL_ROWS = 1000
const POSTGRES_ROWS = 10_000
/** this run's prefix: of tables, keys and marker rows */
const RUN = `bench_sinks_${process.pid}`

type Mode = 'insert' | 'add'

// ---------------------------------------------------------------------------
// the input

interface Batch { time: number, records: Array<[string, number]> }

const wordOf = (seq: number) => `word${seq % KEYS}`
const countOf = (seq: number) => seq % 10 + 1
/** What every table holds after a run: its rows and the sum of count. */
const expected = (mode: Mode) => {
  let sum = 0
  for (let seq = 0; seq < N; seq++) sum += countOf(seq)
  return { rows: mode === 'insert' ? N : Math.min(N, KEYS), sum }
}

function makeInput (): string {
  const file = path.join(ROOT, 'bench', 'data', `sinks-${N}-${BATCH}-${KEYS}.ndjson`)
  if (fs.existsSync(file)) return file
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const out = fs.openSync(file + '.tmp', 'w')
  for (let from = 0; from < N; from += BATCH) {
    const time = (from / BATCH + 1) * INTERVAL
    const end = Math.min(N, from + BATCH)
    const lines = []
    for (let at = from; at < end; at += CHUNK) {
      const records = []
      for (let seq = at; seq < Math.min(end, at + CHUNK); seq++) records.push([wordOf(seq), countOf(seq)])
      lines.push(JSON.stringify({ time, interval: INTERVAL, records, ...at + CHUNK < end ? { more: true } : {} }))
    }
    fs.writeSync(out, lines.join('\n') + '\n')
  }
  fs.closeSync(out)
  fs.renameSync(file + '.tmp', file)
  return file
}

/** The bare loops' reading: stdin's lines, chunks joined into batches. */
async function * batches (): AsyncGenerator<Batch> {
  let records: Array<[string, number]> = []
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const chunk = JSON.parse(line) as { time: number, records: Array<[string, number]>, more?: boolean }
    for (const record of chunk.records) records.push(record)
    if (chunk.more) continue
    yield { time: chunk.time, records }
    records = []
  }
}

// ---------------------------------------------------------------------------
// the stores

interface Store {
  name: string
  /** what one record makes: a row, or a command */
  unit: 'rows' | 'commands'
  modes: Mode[]
  /** the dstream URL (SQLite: of this target's file) */
  url(target: string): string
  /** why it cannot be benched here, or undefined */
  unavailable(): Promise<string | undefined>
  /** the pid of the server's main process, to read its CPU time; undefined if not local */
  serverPid(): Promise<number | undefined>
  /** a fresh, empty target (table or key) for one run, and dstream_commits */
  create(target: string, mode: Mode): Promise<void>
  /** the bare loop (in a process of its own, see bareProcess): stdin into the target at `url`, its marker named `sink` */
  bare(url: string, target: string, mode: Mode, sink: string): Promise<void>
  /** the dstream runs of one mode: a label and the words after `dstream` */
  dstream(target: string, mode: Mode, sink: string): Array<{ label: string, words: string[] }>
  /** rows (hash fields) and the sum of count in the target */
  check(target: string): Promise<{ rows: number, sum: number }>
  /** the target, and the markers of this bench's sinks */
  drop(target: string, sinks: string[]): Promise<void>
  /** at the end: what is left of the store's own (SQLite's directory) */
  finish?(): void
}

const COMMITS = 'CREATE TABLE IF NOT EXISTS dstream_commits (sink VARCHAR(255) PRIMARY KEY, batch_time BIGINT NOT NULL)'
const toSqlWords = (url: string, table: string, mode: Mode, sink: string) =>
  ['to-sql', url, '--table', table, '--columns', 'word,count', '--mode', mode, ...mode === 'add' ? ['--key', 'word'] : [], '--name', sink]

function sqlite (): Store {
  // made when first used: a bare loop's process is given its file
  let dir: string | undefined
  const fileOf = (target: string) => path.join(dir ??= fs.mkdtempSync(path.join(process.env.SQLITE_DIR ?? os.tmpdir(), 'dstream-bench-sinks-')), `${target}.db`)
  const open = async (file: string) => new (await import('better-sqlite3')).default(file, { timeout: 5000 })
  return {
    name: 'sqlite',
    unit: 'rows',
    modes: MODES,
    url: target => `sqlite:${fileOf(target)}`,
    unavailable: async () => undefined,
    // no server: SQLite runs in the process
    serverPid: async () => undefined,
    async create (target, mode) {
      const db = await open(fileOf(target))
      db.exec(`CREATE TABLE ${target} (word TEXT${mode === 'add' ? ' PRIMARY KEY' : ''}, count INTEGER)`)
      db.exec(COMMITS)
      db.close()
    },
    async bare (url, target, mode, sink) {
      const db = await open(url.slice('sqlite:'.length))
      const insert = db.prepare(`INSERT INTO ${target} (word, count) VALUES (?, ?)${mode === 'add' ? ' ON CONFLICT (word) DO UPDATE SET count = count + excluded.count' : ''}`)
      const marker = db.prepare('INSERT INTO dstream_commits (sink, batch_time) VALUES (?, ?) ON CONFLICT (sink) DO UPDATE SET batch_time = excluded.batch_time')
      const written = (db.prepare('SELECT batch_time FROM dstream_commits WHERE sink = ?').get(sink) as { batch_time: number } | undefined)?.batch_time ?? -1
      const write = db.transaction((batch: Batch) => {
        for (const record of batch.records) insert.run(record)
        marker.run(sink, batch.time)
      })
      for await (const batch of batches()) if (batch.time > written) write(batch)
      db.close()
    },
    dstream: (target, mode, sink) => [{ label: `to-sql --mode ${mode}`, words: toSqlWords(`sqlite:${fileOf(target)}`, target, mode, sink) }],
    async check (target) {
      const db = await open(fileOf(target))
      const { rows, sum } = db.prepare(`SELECT COUNT(*) AS rows, SUM(count) AS sum FROM ${target}`).get() as { rows: number, sum: number }
      db.close()
      return { rows, sum }
    },
    async drop (target) { fs.rmSync(fileOf(target), { force: true }) },
    finish () { if (dir) fs.rmSync(dir, { recursive: true, force: true }) }
  }
}

function mariadb (): Store {
  const connect = async (url = MARIADB_URL) => (await import('mysql2/promise')).createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: false, decimalNumbers: true })
  const conflict = (mode: Mode) => mode === 'add' ? ' ON DUPLICATE KEY UPDATE count = count + VALUES(count)' : ''
  return {
    name: 'mariadb',
    unit: 'rows',
    modes: MODES,
    url: () => MARIADB_URL,
    unavailable: () => reachable(connect, c => c.end()),
    async serverPid () {
      const conn = await connect()
      const [rows] = await conn.query('SELECT @@pid_file AS file, @@datadir AS dir')
      await conn.end()
      const { file, dir } = (rows as Array<{ file: string, dir: string }>)[0]
      return pidIn(path.resolve(dir, file))
    },
    async create (target, mode) {
      const conn = await connect()
      await conn.query(`CREATE TABLE ${target} (word VARCHAR(64)${mode === 'add' ? ' PRIMARY KEY' : ''}, count BIGINT)`)
      await conn.query(COMMITS)
      await conn.end()
    },
    async bare (url, target, mode, sink) {
      const conn = await connect(url)
      const insert = (rows: number) => `INSERT INTO ${target} (word, count) VALUES ${new Array(rows).fill('(?, ?)').join(', ')}${conflict(mode)}`
      const marker = 'INSERT INTO dstream_commits (sink, batch_time) VALUES (?, ?) ON DUPLICATE KEY UPDATE batch_time = VALUES(batch_time)'
      const [found] = await conn.execute('SELECT batch_time FROM dstream_commits WHERE sink = ?', [sink])
      const written = Number((found as Array<{ batch_time: number }>)[0]?.batch_time ?? -1)
      for await (const batch of batches()) {
        if (batch.time <= written) continue
        await conn.beginTransaction()
        for (let i = 0; i < batch.records.length; i += MYSQL_ROWS) {
          const slice = batch.records.slice(i, i + MYSQL_ROWS)
          await conn.execute(insert(slice.length), slice.flat())
        }
        await conn.execute(marker, [sink, batch.time])
        await conn.commit()
      }
      await conn.end()
    },
    dstream: (target, mode, sink) => [{ label: `to-sql --mode ${mode}`, words: toSqlWords(MARIADB_URL, target, mode, sink) }],
    async check (target) {
      const conn = await connect()
      const [rows] = await conn.query(`SELECT COUNT(*) AS n, COALESCE(SUM(count), 0) AS sum FROM ${target}`)
      await conn.end()
      const { n, sum } = (rows as Array<{ n: number, sum: number }>)[0]
      return { rows: Number(n), sum: Number(sum) }
    },
    async drop (target, sinks) {
      const conn = await connect()
      await conn.query(`DROP TABLE IF EXISTS ${target}`)
      if (sinks.length > 0) await conn.query('DELETE FROM dstream_commits WHERE sink IN (?)', [sinks])
      await conn.end()
    }
  }
}

function postgres (): Store {
  const connect = async (url = POSTGRES_URL) => {
    const client = new (await import('pg')).default.Client({ connectionString: url })
    await client.connect()
    return client
  }
  const conflict = (mode: Mode) => mode === 'add' ? ' ON CONFLICT (word) DO UPDATE SET count = t.count + excluded.count' : ''
  return {
    name: 'postgres',
    unit: 'rows',
    modes: MODES,
    url: () => POSTGRES_URL,
    unavailable: () => reachable(connect, c => c.end()),
    async serverPid () {
      const client = await connect()
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid')
      // the postmaster: the backend's parent, which reaps (and so counts) every backend
      const postmaster = parentOf(Number(rows[0].pid))
      await client.end()
      return postmaster
    },
    async create (target, mode) {
      const client = await connect()
      await client.query(`CREATE TABLE ${target} (word TEXT${mode === 'add' ? ' PRIMARY KEY' : ''}, count BIGINT)`)
      await client.query(COMMITS)
      await client.end()
    },
    async bare (url, target, mode, sink) {
      const client = await connect(url)
      const insert = { name: `${target}_insert`, text: `INSERT INTO ${target} AS t (word, count) SELECT * FROM unnest($1::text[], $2::bigint[])${conflict(mode)}` }
      const marker = { name: `${target}_marker`, text: 'INSERT INTO dstream_commits (sink, batch_time) VALUES ($1, $2) ON CONFLICT (sink) DO UPDATE SET batch_time = excluded.batch_time' }
      const found = await client.query('SELECT batch_time FROM dstream_commits WHERE sink = $1', [sink])
      const written = Number(found.rows[0]?.batch_time ?? -1)
      for await (const batch of batches()) {
        if (batch.time <= written) continue
        await client.query('BEGIN')
        for (let i = 0; i < batch.records.length; i += POSTGRES_ROWS) {
          const slice = batch.records.slice(i, i + POSTGRES_ROWS)
          await client.query({ ...insert, values: [slice.map(r => r[0]), slice.map(r => r[1])] })
        }
        await client.query({ ...marker, values: [sink, batch.time] })
        await client.query('COMMIT')
      }
      await client.end()
    },
    dstream: (target, mode, sink) => [{ label: `to-sql --mode ${mode}`, words: toSqlWords(POSTGRES_URL, target, mode, sink) }],
    async check (target) {
      const client = await connect()
      const { rows } = await client.query(`SELECT COUNT(*) AS n, COALESCE(SUM(count), 0) AS sum FROM ${target}`)
      await client.end()
      return { rows: Number(rows[0].n), sum: Number(rows[0].sum) }
    },
    async drop (target, sinks) {
      const client = await connect()
      await client.query(`DROP TABLE IF EXISTS ${target}`)
      if (sinks.length > 0) await client.query('DELETE FROM dstream_commits WHERE sink = ANY($1)', [sinks])
      await client.end()
    }
  }
}

function redis (): Store {
  const connect = async (url = REDIS_URL) => {
    const { Redis } = await import('ioredis')
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    await client.connect()
    return client
  }
  return {
    name: 'redis',
    unit: 'commands',
    // HINCRBY adds, like --mode add
    modes: ['add'],
    url: () => REDIS_URL,
    unavailable: () => reachable(connect, async c => { c.disconnect() }),
    async serverPid () {
      const client = await connect()
      const info = await client.info('server')
      client.disconnect()
      return Number(/process_id:(\d+)/.exec(info)?.[1])
    },
    create: async () => {},
    async bare (url, target, _mode, sink) {
      const client = await connect(url)
      const markerKey = `dstream:commit:${sink}`
      const written = Number(await client.get(markerKey) ?? -1)
      for await (const batch of batches()) {
        if (batch.time <= written) continue
        const transaction = client.multi()
        for (const [word, count] of batch.records) transaction.hincrby(target, word, count)
        transaction.set(markerKey, String(batch.time))
        const replies = await transaction.exec()
        if (replies === null) throw new Error(`batch ${batch.time}: the transaction was aborted`)
        const failed = replies.find(([err]) => err)
        if (failed) throw failed[0]
      }
      await client.quit()
    },
    dstream: (target, _mode, sink) => [
      { label: 'to-redis --hincrby', words: ['to-redis', REDIS_URL, '--hincrby', `'${target}'`, '_[0]', '_[1]', '--name', sink] },
      { label: 'to-redis FN', words: ['to-redis', REDIS_URL, `([w, n]) => ['HINCRBY', '${target}', w, n]`, '--name', sink] }
    ],
    async check (target) {
      const client = await connect()
      const values = await client.hvals(target)
      client.disconnect()
      return { rows: values.length, sum: values.reduce((s, v) => s + Number(v), 0) }
    },
    async drop (target, sinks) {
      const client = await connect()
      await client.del(target, ...sinks.map(s => `dstream:commit:${s}`))
      client.disconnect()
    }
  }
}

const STORE_MAKERS: Record<string, () => Store> = { sqlite, mariadb, postgres, redis }

/** Undefined when a connection can be made (and closed), else the reason. */
async function reachable<C> (connect: () => Promise<C>, close: (c: C) => Promise<unknown>): Promise<string | undefined> {
  try {
    await close(await connect())
    return undefined
  } catch (err) {
    return (err as Error).message || String((err as { code?: string }).code ?? err)
  }
}

function pidIn (file: string): number | undefined {
  try { return Number(fs.readFileSync(file, 'utf8').trim()) || undefined } catch { return undefined }
}

function parentOf (pid: number): number | undefined {
  try { return Number(statOf(pid)[1]) } catch { return undefined }
}

/** The fields of /proc/PID/stat from the state on (the name in parentheses may hold spaces). */
function statOf (pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

/**
 * CPU seconds of a server so far: its process, its children (PostgreSQL's backends),
 * and the children it has reaped (cutime, cstime), so that a backend which ended
 * between two readings is still counted.
 */
function serverCpu (pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const own = statOf(pid)
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
    for (const child of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        const s = statOf(Number(child))
        if (Number(s[1]) === pid) ticks += Number(s[11]) + Number(s[12])
      } catch { /* ended meanwhile */ }
    }
    return ticks / TICK
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------
// the runs

interface Run {
  seconds: number
  /** CPU seconds of the process (user + system) */
  cpu: number
  server?: number
  rss?: number
  error?: string
  check?: string
}

const quoteWord = (word: string) => `'${word.split("'").join("'\\''")}'`

/** Polls the resident set of the processes in group `pgid` but the shell; the largest, in MB, when stopped. */
function watchGroup (pgid: number): { stop(): number | undefined } {
  let peak = 0
  const timer = setInterval(() => {
    for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        if (Number(statOf(Number(pid))[2]) !== pgid || fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'bash') continue
        peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024)
      } catch { /* ended meanwhile */ }
    }
  }, 100)
  return { stop () { clearInterval(timer); return peak || undefined } }
}

/**
 * Runs `command` (shell words) with the file on its stdin, as its own process group;
 * wall time from spawn to exit, CPU time from bash's `times` (its children's).
 */
async function timeProcess (command: string[], file: string, server: number | undefined, timeout: number): Promise<Run> {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-sinks-state-'))
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, DSTREAM_STATE_DIR: state }
  if (CPU_PROF) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${path.resolve(CPU_PROF)}`
  const before = serverCpu(server)
  const start = performance.now()
  const child = spawn('bash', ['-c', `${command.map(quoteWord).join(' ')} < ${quoteWord(file)} > /dev/null; rc=$?; times; exit $rc`], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const memory = watchGroup(child.pid!)
  let out = ''
  let err = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { err += d })
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ } }, timeout * 1000)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  clearTimeout(timer)
  const seconds = (performance.now() - start) / 1000
  const after = serverCpu(server)
  const rss = memory.stop()
  fs.rmSync(state, { recursive: true, force: true })
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim())
  const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN
  const run: Run = { seconds, cpu, server: before === undefined || after === undefined ? undefined : after - before, rss }
  const said = err.split('\n').filter(l => l && !/batches up to/.test(l)).join('\n')
  if (code !== 0) run.error = `exit ${code ?? 'by a signal'}${seconds >= timeout ? ` (killed after ${timeout} s)` : ''}${said ? `: ${said.slice(0, 500)}` : ''}`
  return run
}

const SELF = fileURLToPath(import.meta.url)
const bareCommand = (store: Store, target: string, mode: Mode, sink: string) => ['node', SELF, '--bare', store.name, mode, store.url(target), target, sink]
const dstreamCommand = (store: Store, target: string, mode: Mode, sink: string, i: number) => ['dstream', ...store.dstream(target, mode, sink)[i].words]

const median = (runs: Run[]) => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]
/** targets made so far: each run's table or key has a name of its own */
let targets = 0

/** What a process costs whatever the records: start, load, connect, check, over one empty batch (median of three). */
async function fixedCost (store: Store, command: (target: string, mode: Mode, sink: string) => string[]): Promise<number> {
  const file = path.join(os.tmpdir(), `${RUN}-empty.ndjson`)
  fs.writeFileSync(file, JSON.stringify({ time: INTERVAL, interval: INTERVAL, records: [] }) + '\n')
  const runs: Run[] = []
  for (let i = 0; i < 3; i++) {
    const target = `${RUN}_${store.name}_empty_${++targets}`
    await store.create(target, store.modes[0])
    runs.push(await timeProcess(command(target, store.modes[0], `${target}_sink`), file, undefined, 60))
    await store.drop(target, [`${target}_sink`])
  }
  fs.rmSync(file, { force: true })
  return runs.some(r => r.error) ? NaN : median(runs).seconds
}

interface Row { label: string, runs: Run[] }

const ok = (runs: Run[]) => runs.length > 0 && runs.every(r => !r.error && !r.check)

async function benchStore (store: Store, file: string): Promise<Array<{ bare: Row, dstream: Row[] }>> {
  // a server's CPU time can be read only here, on its machine
  const server = /^\w+:\/\/([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])([:/]|$)/.test(store.url('')) ? await store.serverPid().catch(() => undefined) : undefined
  const fixed = {
    bare: await fixedCost(store, (target, mode, sink) => bareCommand(store, target, mode, sink)),
    dstream: await fixedCost(store, (target, mode, sink) => dstreamCommand(store, target, mode, sink, 0))
  }
  console.log(`\n${store.name} (${store.url('FILE').replace(/:[^:@/]*@/, ':***@')}): ${N.toLocaleString('en')} records, batches of ${BATCH.toLocaleString('en')}, median of ${RUNS} run${RUNS === 1 ? '' : 's'}; ` +
    `fixed cost (start, connect, one empty batch): bare loop ${fixed.bare.toFixed(2)} s, dstream ${fixed.dstream.toFixed(2)} s`)
  console.log(`${'run'.padEnd(34)} ${'seconds'.padStart(7)} ${'range'.padStart(11)} ${`${store.unit}/s`.padStart(10)} ${'of bare'.padStart(7)} ${'CPU s'.padStart(6)} ${'µs/rec'.padStart(6)} ${'server'.padStart(6)} ${'RSS'.padStart(7)}  check`)
  const results = []
  for (const mode of store.modes) {
    const want = expected(mode)
    const bare: Row = { label: `${mode}: ${{ sqlite: 'better-sqlite3', mariadb: 'mysql2', postgres: 'pg', redis: 'ioredis' }[store.name]} loop`, runs: [] }
    const dstream: Row[] = []
    // bare loop and dstream alternate, each run into a target of its own
    const one = async (go: (target: string, sink: string) => Promise<Run>) => {
      const target = `${RUN}_${store.name}_${++targets}`
      const sink = `${target}_sink`
      await store.create(target, mode)
      const run = await go(target, sink)
      if (!run.error) {
        const got = await store.check(target)
        if (got.rows !== want.rows || got.sum !== want.sum) run.check = `${got.rows} ${store.unit === 'rows' ? 'rows' : 'fields'} summing to ${got.sum}, not ${want.rows} summing to ${want.sum}`
      }
      await store.drop(target, [sink])
      return run
    }
    for (let r = 0; r < RUNS; r++) {
      bare.runs.push(await one((target, sink) => timeProcess(bareCommand(store, target, mode, sink), file, server, Number(process.env.RUN_TIMEOUT ?? 600))))
      const timeout = Number(process.env.RUN_TIMEOUT ?? Math.max(60, 10 * median(bare.runs).seconds))
      store.dstream('T', mode, 'S').forEach((d, i) => { dstream[i] ??= { label: `${mode}: dstream ${d.label}`, runs: [] } })
      for (const [i, row] of dstream.entries()) {
        row.runs.push(await one((target, sink) => timeProcess(dstreamCommand(store, target, mode, sink, i), file, server, timeout)))
      }
    }
    for (const row of [bare, ...dstream]) show(row, bare, want.rows)
    results.push({ bare, dstream })
  }
  return results
}

function show (row: Row, bare: Row, rows: number): void {
  const m = median(row.runs)
  const failed = row.runs.find(r => r.error || r.check)
  const range = row.runs.length > 1 ? `${Math.min(...row.runs.map(r => r.seconds)).toFixed(2)}-${Math.max(...row.runs.map(r => r.seconds)).toFixed(2)}` : ''
  console.log([
    row.label.padEnd(34),
    m.seconds.toFixed(2).padStart(7),
    range.padStart(11),
    (failed ? '-' : Math.round(N / m.seconds).toLocaleString('en')).padStart(10),
    (failed || !ok(bare.runs) ? '-' : `${(median(bare.runs).seconds / m.seconds * 100).toFixed(0)}%`).padStart(7),
    (Number.isNaN(m.cpu) ? '-' : m.cpu.toFixed(2)).padStart(6),
    (Number.isNaN(m.cpu) ? '-' : (m.cpu / N * 1e6).toFixed(2)).padStart(6),
    (m.server === undefined ? '-' : m.server.toFixed(2)).padStart(6),
    (m.rss === undefined ? '-' : `${m.rss.toFixed(0)} MB`).padStart(7),
    ` ${failed ? `FAILED: ${failed.error ?? failed.check}` : `${rows.toLocaleString('en')} ${row.label.startsWith('add') ? 'keys' : 'rows'}, sum right`}`
  ].join(' '))
}

async function main (): Promise<void> {
  if (BATCH > KEYS) throw new Error(`BATCH (${BATCH}) must not be above KEYS (${KEYS}): the words of a batch are distinct`)
  const file = makeInput()
  console.log(`sinks: ${N.toLocaleString('en')} records ["word…", n] (${(fs.statSync(file).size / 1e6).toFixed(0)} MB of NDJSON), ${KEYS.toLocaleString('en')} distinct words, batches of ${BATCH.toLocaleString('en')} in chunks of ${CHUNK}; ${os.cpus().length} cores, load ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  console.log('seconds: wall, spawn to exit; range: of the runs; CPU s: the process\'s, µs/rec: per record; server: the server\'s CPU s meanwhile; RSS: the process\'s peak')
  const verdicts: string[] = []
  for (const name of STORES) {
    const make = STORE_MAKERS[name]
    if (!make) throw new Error(`STORES: unknown store ${name} (sqlite, mariadb, postgres, redis)`)
    const store = make()
    const why = await store.unavailable()
    if (why) {
      console.log(`\n${name}: skipped, its server does not answer (${why}; start it with scripts/${name}/server.sh start)`)
      verdicts.push(`${name}: skipped (no server)`)
      continue
    }
    const results = await benchStore(store, file).finally(() => store.finish?.())
    for (const { bare, dstream } of results) {
      for (const row of dstream) {
        if (!ok(row.runs) || !ok(bare.runs)) { verdicts.push(`${store.name} ${row.label}: FAILED, targets not judged`); continue }
        const rate = N / median(row.runs).seconds
        const share = median(bare.runs).seconds / median(row.runs).seconds
        const absolute = store.name === 'sqlite' || store.name === 'postgres'
        verdicts.push(`${store.name} ${row.label}: ${Math.round(rate).toLocaleString('en')} ${store.unit}/s, ${(share * 100).toFixed(0)}% of the bare loop's ${Math.round(N / median(bare.runs).seconds).toLocaleString('en')} (target >= 80%): ${share >= 0.8 ? 'met' : 'NOT met'}` +
          (absolute ? `; target >= 50,000 rows/s: ${rate >= 50_000 ? 'met' : 'NOT met'}` : '') +
          `; CPU ${median(row.runs).cpu.toFixed(2)} s against ${median(bare.runs).cpu.toFixed(2)} s`)
      }
    }
  }
  console.log(`\nload average at the end: ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  for (const line of verdicts) console.log(line)
  if (verdicts.some(v => /FAILED/.test(v))) process.exitCode = 1
}

/** `node dist/bench/sinks.js --bare STORE MODE URL TARGET SINK < FILE`: a bare loop, in a process of its own as dstream's is. */
async function bareProcess ([store, mode, url, target, sink]: string[]): Promise<void> {
  await STORE_MAKERS[store]().bare(url, target, mode as Mode, sink)
}

if (process.argv[2] === '--bare') bareProcess(process.argv.slice(3)).catch(err => { console.error(err); process.exit(1) })
else main().catch(err => { console.error(err); process.exit(1) })
