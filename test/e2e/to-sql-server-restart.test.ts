// The database stopped and started under a running to-sql pipeline, for MariaDB and
// for PostgreSQL: a private server of this test (scripts/mariadb/server.sh with
// MARIADB_PORT and MARIADB_HOME, scripts/postgres/server.sh with POSTGRES_PORT and
// POSTGRES_HOME, in a temporary directory, on a free port of its own), never the
// shared one, which other tests use. While the server is down the pipeline waits and
// to-sql says so; once it is back, every line fed before, during and after is
// counted once in the table. With --give-up, to-sql stops instead, exit 1, naming the
// database by its masked URL. A server that answers but refuses (a wrong password) is
// not waited for: exit 1 at once, with the server's reason.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { random, sentence, sortedEntries, wordCounts } from '../crash.js'
import { ROOT, freshDir, sh, userEnv } from '../helpers.js'
import { pollFor, within } from '../kafkaHelpers.js'
import { tableRows, uniqueTable } from '../sqlHelpers.js'

interface Server {
  name: 'MariaDB' | 'PostgreSQL'
  script: string
  /** the commands the script needs (it would install them with apt-get otherwise, which a test must not do) */
  binaries: string
  env(port: number, home: string): NodeJS.ProcessEnv
  url(port: number): string
  /** the server's pid, from its files under home */
  pid(home: string): number
}

const SERVERS: Server[] = [
  {
    name: 'MariaDB',
    script: path.join(ROOT, 'scripts', 'mariadb', 'server.sh'),
    binaries: 'command -v mariadbd && command -v mariadb-install-db && command -v mariadb-admin && command -v mariadb',
    env: (port, home) => ({ MARIADB_PORT: String(port), MARIADB_HOME: home }),
    url: port => `mysql://dstream:dstream-secret@127.0.0.1:${port}/dstream`,
    pid: home => Number(fs.readFileSync(path.join(home, 'pid'), 'utf8'))
  },
  {
    name: 'PostgreSQL',
    script: path.join(ROOT, 'scripts', 'postgres', 'server.sh'),
    binaries: 'd=/usr/lib/postgresql/15/bin; [ -x $d/pg_ctl ] || { p="$(command -v pg_ctl)" && d="$(dirname "$(readlink -f "$p")")"; } || exit 1; for b in initdb pg_ctl postgres psql pg_isready; do [ -x "$d/$b" ] || exit 1; done',
    env: (port, home) => ({ POSTGRES_PORT: String(port), POSTGRES_HOME: home }),
    url: port => `postgres://dstream:dstream-secret@127.0.0.1:${port}/dstream`,
    pid: home => Number(fs.readFileSync(path.join(home, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  }
]

/** Whether nothing listens on 127.0.0.1:port. */
function free (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free port picked at random in 30000-32699: below the ephemeral ports, apart from
 * the range the Kafka restart test picks from, so that two tests (or two runs of this
 * one) do not take each other's port while a server is down.
 */
async function freePort (): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 30000 + Math.floor(Math.random() * 2700)
    if (await free(port)) return port
  }
  throw new Error('no free port in 30000-32699 for a private database server')
}

/** A pipeline fed on stdin by the test, in a process group of its own; its commands' statuses are read from stderr. */
interface Live {
  write(text: string): void
  end(): void
  stderr(): string
  running(): boolean
  /** each command's exit status, once it has ended */
  closed: Promise<number[]>
  /** whether `pattern` shows on stderr (after its first `since` characters) within `ms` */
  waitFor(pattern: RegExp, ms: number, since?: number): Promise<boolean>
  kill(): void
}

function live (commands: string[], env: NodeJS.ProcessEnv): Live {
  const script = `unset NODE_OPTIONS; ${commands.join(' | ')}; echo "statuses \${PIPESTATUS[*]}" >&2`
  const child = spawn('bash', ['-c', script], { env: userEnv(env), detached: true, stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  let done = false
  child.stdin!.on('error', () => {}) // the first command may have gone, with lines still to come
  child.stderr!.on('data', d => { stderr += d })
  const closed = new Promise<number[]>(resolve => child.on('close', () => {
    done = true
    resolve((/^statuses (.*)$/m.exec(stderr)?.[1] ?? '').split(' ').filter(Boolean).map(Number))
  }))
  return {
    write: text => { if (!done) child.stdin!.write(text) },
    end: () => child.stdin!.end(),
    stderr: () => stderr,
    running: () => !done,
    closed,
    waitFor: (pattern, ms, since = 0) => {
      const seen = () => pattern.test(stderr.slice(since))
      return pollFor(() => seen() || done, ok => ok, { ms, every: 100 }).then(seen)
    },
    kill: () => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone already */ } }
  }
}

/** Feeds the pipeline a few lines every 50 ms until stopped; `fed` is every line given so far. */
function feeder (p: Live, seed: number): { fed: string[], stop(): void } {
  const next = random(seed)
  const fed: string[] = []
  const timer = setInterval(() => {
    if (!p.running()) return
    const lines = Array.from({ length: 5 }, () => sentence(next).join(' '))
    fed.push(...lines)
    p.write(lines.map(l => l + '\n').join(''))
  }, 50)
  return { fed, stop: () => clearInterval(timer) }
}

/** The table's [word, count] rows, sorted, the counts as numbers; none while the table does not exist yet. */
async function counts (url: string, table: string): Promise<Array<[string, number]>> {
  try {
    return sortedEntries(new Map((await tableRows(url, table, ['word', 'count'])).map(([w, n]) => [String(w), Number(n)])))
  } catch {
    return []
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

for (const server of SERVERS) {
  t.test(`${server.name}: the server stopped and started under a running pipeline`, async t => {
    if (!installed(t, server)) return
    const port = await freePort()
    // in the temporary directory, which the system user postgres can reach (the script runs PostgreSQL as it when root)
    const home = fs.mkdtempSync(path.join(os.tmpdir(), `dstream-${server.name.toLowerCase()}-`))
    const control = async (command: 'start' | 'stop') => {
      const ran = await sh(`${server.script} ${command}`, { env: server.env(port, home), timeout: 90_000, cwd: ROOT })
      t.equal(ran.code, 0, `${server.name} ${command === 'start' ? 'starts' : 'stops'} on 127.0.0.1:${port}\n${ran.stdout}${ran.stderr}`)
      return ran.code === 0
    }
    const started: Live[] = []
    // whatever happens, even if this process ends abruptly, the private server goes
    const killServer = () => { try { process.kill(server.pid(home), 'SIGKILL') } catch { /* not running */ } }
    process.once('exit', killServer)
    t.teardown(async () => {
      for (const p of started) p.kill()
      await sh(`${server.script} stop`, { env: server.env(port, home), timeout: 90_000, cwd: ROOT })
      killServer()
      process.removeListener('exit', killServer)
      if (t.passing()) fs.rmSync(home, { recursive: true, force: true })
      else t.comment(`the server's directory is kept for a look: ${home} (server.log)`)
    })
    if (!await control('start')) return
    const url = server.url(port)
    const masked = url.replace('dstream-secret', '***').replace(/[.*]/g, c => `\\${c}`)
    const stages = (table: string, ...more: string[]) => [
      'dstream batch 200ms',
      "dstream flat-map '_.split(\" \")'",
      "dstream map '[_, 1]'",
      'dstream reduce-by-key sum',
      `dstream to-sql ${url} --table ${table} --columns word,count --mode add --key word --create ${more.join(' ')}`
    ]

    await t.test('the pipeline waits while the server is down and loses nothing', async t => {
      const table = uniqueTable('restart')
      const p = live(stages(table), { DSTREAM_STATE_DIR: freshDir() })
      started.push(p)
      const input = feeder(p, port)
      t.ok((await pollFor(() => counts(url, table), rows => rows.length > 0, { ms: 30_000 })).length > 0, `the first batches are in the table\n${p.stderr()}`)

      if (!await control('stop')) return
      const stoppedAt = Date.now()
      t.ok(await p.waitFor(/dstream to-sql: batch \d+: .*; trying again in/, 15_000), `to-sql says the database is unreachable and that it tries again\n${p.stderr()}`)
      t.match(p.stderr(), new RegExp(`dstream to-sql: batch \\d+: ${masked}: .*; trying again in`), 'naming it by its masked URL')
      // down for a few seconds, lines still coming
      await pollFor(() => !p.running(), gone => gone, { ms: 4000 - (Date.now() - stoppedAt), every: 100 })
      t.ok(p.running(), `the pipeline waits (does not exit) while the server is down (${Date.now() - stoppedAt} ms)\n${p.stderr()}`)

      const before = p.stderr().length
      if (!await control('start')) return
      t.ok(await p.waitFor(/dstream to-sql: batch \d+: back after \d/, 30_000, before), `to-sql says the database is back, once it is\n${p.stderr()}`)
      t.ok(p.running(), 'and the pipeline goes on')
      await sleep(1000)
      input.stop()
      p.end()
      const statuses = await within(p.closed, 30_000, 'still running')
      t.same(statuses, [0, 0, 0, 0, 0], `the input ended: every command exits 0\n${p.stderr()}`)
      t.same(await counts(url, table), sortedEntries(wordCounts(input.fed)), `the table holds the counts of all ${input.fed.length} lines fed, before, during and after the stop: nothing lost, nothing twice`)
      t.notMatch(p.stderr(), /dstream-secret/, 'the password is never said')
    })

    await t.test('a server that answers but refuses the password: exit 1 at once, saying why', async t => {
      const wrong = url.replace('dstream-secret', 'not-the-password')
      const p = live([`dstream to-sql ${wrong} --table ${uniqueTable('refused')} --create`], { DSTREAM_STATE_DIR: freshDir() })
      started.push(p)
      p.end()
      const statuses = await within(p.closed, 30_000, 'still running')
      t.same(statuses, [1], `exit 1\n${p.stderr()}`)
      t.notMatch(p.stderr(), /trying again/, 'not taken for a server that is away: no retry')
      t.match(p.stderr(), new RegExp(`dstream to-sql: at start: ${masked}: .*(password authentication failed|Access denied)`), "the server's own reason, not its error code")
      t.notMatch(p.stderr(), /not-the-password/, 'the password is never said')
    })

    await t.test('--give-up 2s: exit 1 once the server has been away that long', async t => {
      const table = uniqueTable('giveup')
      const p = live(stages(table, '--give-up', '2s'), { DSTREAM_STATE_DIR: freshDir() })
      started.push(p)
      const input = feeder(p, port + 1)
      t.ok((await pollFor(() => counts(url, table), rows => rows.length > 0, { ms: 30_000 })).length > 0, `the first batches are in the table\n${p.stderr()}`)
      // from before the stop: the server may go away while the script waits for it
      const stopping = Date.now()
      if (!await control('stop')) return
      const statuses = await within(p.closed, 30_000, 'still running')
      const after = Date.now() - stopping
      input.stop()
      t.equal(Array.isArray(statuses) ? statuses.at(-1) : statuses, 1, `to-sql exits 1 (statuses ${statuses})\n${p.stderr()}`)
      t.ok(after >= 2000, `once the server had been away for 2 s (it exited ${after} ms after the stop began)`)
      const last = p.stderr().split('\n').filter(l => l.startsWith('dstream to-sql:')).at(-1) ?? ''
      t.match(last, new RegExp(`^dstream to-sql: batch \\d+: ${masked}: .*; given up after --give-up 2s$`), `its last word names the batch, the database by its masked URL, and why it stopped: ${last}`)
      t.notMatch(p.stderr(), /dstream-secret/, 'the password is never said')
    })
  })
}

/** Whether the server's binaries are there; if not, the test is skipped (failed, when services are required). */
function installed (t: Test, server: Server): boolean {
  if (spawnSync('bash', ['-c', server.binaries], { stdio: 'ignore' }).status === 0) return true
  const why = `no ${server.name} (its server is not installed; ${path.relative(ROOT, server.script)} start installs it)`
  if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail(`DSTREAM_REQUIRE_SERVICES=1 but ${why}`)
  else t.skip(`skipped: ${why}`, () => {})
  return false
}
