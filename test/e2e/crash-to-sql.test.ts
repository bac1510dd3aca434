// to-sql under the crash test (SPEC §4, "restart resumes"): one tail pipeline whose
// per-batch word counts go, with --mode add, into a table of each database at once
// (SQLite always; MariaDB and PostgreSQL when they answer), three sinks sharing one
// state directory. Killed with SIGKILL at random moments (any of its processes, a
// to-sql perhaps mid-transaction) and started again each time, it ends with every
// table equal to the word counts of the whole input and to an uninterrupted run's:
// an add is not idempotent, so a batch written twice or not at all would show.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { crashRuns, keep, random, runPipeline, seedFromEnv, sentence, sortedEntries, wordCounts } from '../crash.js'
import { freshDir } from '../helpers.js'
import { databases, dropTables, query, tableRows, uniqueTable } from '../sqlHelpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)

/** The word the pipeline's filter drops, so that the filter has something to do. */
const DROPPED = 'beam'

/** Appends `lines` to `file`, `perTick` every `everyMs`, while the runs go on; stop() appends the rest at once. */
function appender (file: string, lines: string[], everyMs: number, perTick: number): { stop(): void } {
  let i = 0
  const timer = setInterval(() => {
    fs.appendFileSync(file, lines.slice(i, i + perTick).map(l => l + '\n').join(''))
    i += perTick
    if (i >= lines.length) clearInterval(timer)
  }, everyMs)
  return {
    stop () {
      clearInterval(timer)
      fs.appendFileSync(file, lines.slice(i).map(l => l + '\n').join(''))
      i = lines.length
    }
  }
}

/** The to-sql sinks of a state directory, by their names in dstream_commits. */
function sinks (stateDir: string): string[] {
  return fs.existsSync(stateDir) ? fs.readdirSync(stateDir).filter(n => n.startsWith('to-sql-')) : []
}

/** A table's [word, count] rows as a map, the counts as numbers (whatever the driver gives). */
async function counts (url: string, table: string): Promise<Map<string, number>> {
  return new Map((await tableRows(url, table, ['word', 'count'])).map(([word, count]) => [String(word), Number(count)]))
}

t.test('tail | ... | to-sql --mode add into every database: the tables equal the truth, nothing lost or twice', async t => {
  const dbs = await databases(t)
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it); databases: ${dbs.map(d => d.name).join(', ')}`)
  const next = random(seed ^ 0x5a1)
  const lines = Array.from({ length: 4000 }, () => sentence(next).join(' '))

  const crashed = freshDir()
  const whole = freshDir()
  const tables = { crashed: dbs.map(() => uniqueTable('crash')), whole: dbs.map(() => uniqueTable('whole')) }
  t.teardown(async () => {
    const names = [...sinks(path.join(crashed, 'state')), ...sinks(path.join(whole, 'state'))]
    for (const [i, db] of dbs.entries()) {
      await dropTables(db.url, [tables.crashed[i], tables.whole[i]])
      // the markers of this test's sinks go too: dstream_commits is shared by every test
      if (names.length > 0) await query(db.url, `DELETE FROM dstream_commits WHERE sink IN (${names.map(n => `'${n}'`).join(', ')})`).catch(() => {})
    }
  })

  const counting = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--interval', '200ms', ...(once ? ['--once'] : [])],
    ['flat-map', '_.split(" ")'],
    ['filter', `w => w !== ${JSON.stringify(DROPPED)}`],
    ['map', '[_, 1]'],
    ['reduce-by-key', 'sum']
  ]
  const stages = (which: 'crashed' | 'whole', once: boolean) => [
    ...counting(once),
    // every sink but the last passes the batches on to the next
    ...dbs.map((db, i) => ['to-sql', db.url, '--table', tables[which][i], '--columns', 'word,count', '--mode', 'add', '--key', 'word', '--create', ...(i < dbs.length - 1 ? ['--pass'] : [])])
  ]
  const clean = (which: 'crashed' | 'whole') => stages(which, true).map(() => 0)

  const input = appender(path.join(crashed, 'input.log'), lines, 50, 20)
  try {
    // a killed to-sql is told by its database
    const sink = (stage: number) => dbs[stage - counting(false).length]
    const into = (text: string) => text.replace(/\(stage (\d+)\)/, (all, n) => sink(Number(n)) ? `(stage ${n}, into ${sink(Number(n)).name})` : all)
    await crashRuns(crashed, seed, KILLS, stages('crashed', false), { minMs: 500, maxMs: 3000, log: text => t.comment(into(text)) })
  } finally {
    input.stop()
  }
  const last = await runPipeline(crashed, stages('crashed', true))
  let failed = !t.same(last.statuses, clean('crashed'), `the last run ends cleanly\n${last.stderr}`)

  fs.writeFileSync(path.join(whole, 'input.log'), lines.map(l => l + '\n').join(''))
  const reference = await runPipeline(whole, stages('whole', true))
  failed = !t.same(reference.statuses, clean('whole'), `the uninterrupted run ends cleanly\n${reference.stderr}`) || failed

  const truth = wordCounts(lines)
  truth.delete(DROPPED)
  for (const [i, db] of dbs.entries()) {
    try {
      const got = sortedEntries(await counts(db.url, tables.crashed[i]))
      const expected = sortedEntries(await counts(db.url, tables.whole[i]))
      failed = !t.same(got, sortedEntries(truth), `seed ${seed}: ${db.name}: the table equals the word counts of the whole input`) || failed
      failed = !t.same(got, expected, `seed ${seed}: ${db.name}: and the uninterrupted run's table`) || failed
    } catch (err) {
      failed = !t.fail(`seed ${seed}: ${db.name}: the tables cannot be read: ${(err as Error).message}`)
    }
  }
  t.equal(sinks(path.join(crashed, 'state')).length, dbs.length, 'each sink has its own place in the shared state directory')
  if (failed) {
    const sqlite = path.dirname(dbs[0].url.slice('sqlite:'.length))
    t.comment(`the runs are kept in ${keep(seed, { crashed, whole, sqlite })} (stderr.log has every run's stderr)`)
  }
})
