// ../shared/EXAMPLES.md jobs 4, 9 and 10 as the README writes them, into real
// databases and Redis: the word counts into SQL (running counts upserted, per-batch
// counts appended); the course's capstone, examples/course-clicks.sh, live over a
// growing log of `dstream generate` lines, into SQLite, MariaDB, PostgreSQL and Redis;
// and the same from cron, 30 runs of --once over a log growing between them, whose
// totals equal one run over the whole log.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { random } from '../crash.js'
import { ROOT, freshDir, sh, userEnv } from '../helpers.js'
import { pollFor } from '../kafkaHelpers.js'
import { redis } from '../services.js'
import { databases, dropTables, freshDatabase, tableRows, uniqueTable } from '../sqlHelpers.js'

const SCRIPT = path.join(ROOT, 'examples', 'course-clicks.sh')
type Counts = Map<string, number>

/** `count` lines of the course's generator, as the README appends them to access.log. */
async function generated (count: number, seed: number): Promise<string> {
  const dir = freshDir()
  const ran = await sh(`dstream generate --rate 0 --count ${count} --seed ${seed} | dstream foreach --text -- sh -c 'cat >> ${dir}/lines'`)
  if (ran.code !== 0) throw new Error(ran.stderr)
  return fs.readFileSync(`${dir}/lines`, 'utf8')
}

/** What the job must find, counted here without dstream: [per day and course, per day, engine and course]. */
function truth (log: string): [Counts, Counts] {
  const courses: Counts = new Map()
  const searches: Counts = new Map()
  const add = (m: Counts, k: string) => m.set(k, (m.get(k) ?? 0) + 1)
  for (const line of log.split('\n')) {
    const m = /^\S+ (\d+)-(\d+)-(\d+) \S+ "GET \/class\/(\d+)\.html \S+" \d+ (\S+)$/.exec(line)
    if (!m) continue
    const day = m[1] + m[2] + m[3]
    add(courses, `${day}_${m[4]}`)
    if (m[5] !== '-') add(searches, `${day}_${new URL(m[5]).hostname}_${m[4]}`)
  }
  return [courses, searches]
}

const sorted = (m: Counts) => [...m].sort(([a], [b]) => a < b ? -1 : 1)

async function sqlCounts (url: string): Promise<[Counts, Counts]> {
  const courses = await tableRows(url, 'course_clickcount', ['day_course', 'click_count'])
  const searches = await tableRows(url, 'course_search_clickcount', ['day_search_course', 'click_count'])
  return [new Map(courses.map(([k, n]) => [String(k), Number(n)])), new Map(searches.map(([k, n]) => [String(k), Number(n)]))]
}

/** The Redis hashes course_clickcount:DAY and course_search_clickcount:DAY, keyed as the tables are. */
async function redisCounts (url: string): Promise<[Counts, Counts]> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  try {
    const read = async (prefix: string): Promise<Counts> => {
      const counts: Counts = new Map()
      for (const key of await client.keys(`${prefix}:*`)) {
        for (const [field, n] of Object.entries(await client.hgetall(key))) counts.set(`${key.slice(prefix.length + 1)}_${field}`, Number(n))
      }
      return counts
    }
    return [await read('course_clickcount'), await read('course_search_clickcount')]
  } finally {
    client.disconnect()
  }
}

let redisDbs = 10
/** A Redis database of the test server of its own, emptied (and emptied again at the end). */
async function redisDb (t: Test, address: string): Promise<string> {
  const url = `redis://${address}/${redisDbs++}`
  const flush = async () => { const c = new Redis(url); await c.flushdb(); c.disconnect() }
  await flush()
  t.teardown(flush)
  return url
}


t.test('job 4: word counts into SQL, running totals upserted and per-batch counts appended', async t => {
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const [running, batches] = [uniqueTable('wordcount'), uniqueTable('wordcount_batches')]
      t.teardown(() => dropTables(db.url, [running, batches]))
      const dir = freshDir()
      fs.writeFileSync(`${dir}/words`, 'to be or not\nto be\n')
      const env = { DSTREAM_SQL_URL: db.url }
      const upsert = await sh(`dstream batch 100ms < ${dir}/words | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' \\
        | dstream update-state-by-key '(vs, total = 0) => total + vs.length' \\
        | dstream to-sql --table ${running} --columns word,count --mode upsert --key word --create`, { env })
      t.equal(upsert.code, 0, upsert.stderr)
      t.same(await tableRows(db.url, running, ['word', 'count']), [['be', 2], ['not', 1], ['or', 1], ['to', 2]], 'the running counts, one row per word')
      const append = await sh(`dstream batch 100ms < ${dir}/words | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' | dstream reduce-by-key sum \\
        | dstream to-sql --table ${batches} --columns word,count --batch-column ts --create`, { env })
      t.equal(append.code, 0, append.stderr)
      const rows = await tableRows(db.url, batches, ['word', 'count', 'ts'])
      t.same(rows.map(([w, n]) => [w, n]), [['be', 2], ['not', 1], ['or', 1], ['to', 2]], 'per-batch counts appended')
      t.ok(rows.every(([, , ts]) => Number(ts) % 100 === 0 && Number(ts) > 1.7e12), 'each with its batch time')
    })
  }
})

t.test('job 9: the capstone, live, into each database and Redis', async t => {
  const address = await redis(t)
  if (!address) return
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const dir = freshDir()
      const log = path.join(dir, 'access.log')
      const env = userEnv({ DSTREAM_SQL_URL: await freshDatabase(t, db), DSTREAM_REDIS_URL: await redisDb(t, address), DSTREAM_STATE_DIR: path.join(dir, 'state') })
      fs.writeFileSync(log, await generated(1500, 1))
      // (tap's hooks put its loader back into NODE_OPTIONS of what it spawns; a user's shell has none)
      const job = spawn('bash', ['-c', 'unset NODE_OPTIONS; exec bash "$@"', 'bash', SCRIPT, log, '--interval', '300ms'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      job.stderr.on('data', d => { stderr += d })
      const ended = new Promise<number | null>(resolve => job.on('close', code => resolve(code)))
      // the generator goes on appending while the job runs
      for (const seed of [2, 3]) {
        await new Promise(resolve => setTimeout(resolve, 700))
        fs.appendFileSync(log, await generated(1500, seed))
      }
      const [courses, searches] = truth(fs.readFileSync(log, 'utf8'))
      const total = [...courses.values()].reduce((a, b) => a + b, 0)
      const env2 = env.DSTREAM_SQL_URL!
      await pollFor(async () => {
        try {
          const [c] = await sqlCounts(env2)
          return [...c.values()].reduce((a, b) => a + b, 0) === total
        } catch { return false }
      }, done => done, { ms: 60_000 })
      try {
        process.kill(-job.pid!, 'SIGTERM')
      } catch {
        t.fail(`the job ended before it was stopped (exit ${await ended}): ${stderr}`)
      }
      await ended
      await pollFor(() => { try { process.kill(-job.pid!, 0); return false } catch { return true } }, gone => gone, { ms: 20_000 })
      t.notMatch(stderr, /internal error|exit/i, 'no failure said')
      const [sqlCourses, sqlSearches] = await sqlCounts(env2)
      t.same(sorted(sqlCourses), sorted(courses), `course_clickcount: ${total} clicks, per day and course`)
      t.same(sorted(sqlSearches), sorted(searches), 'course_search_clickcount: the clicks from a search engine, per day, engine and course')
      const [redisCourses, redisSearches] = await redisCounts(env.DSTREAM_REDIS_URL!)
      t.same(sorted(redisCourses), sorted(courses), 'the Redis hashes course_clickcount:DAY')
      t.same(sorted(redisSearches), sorted(searches), 'the Redis hashes course_search_clickcount:DAY')
    })
  }
})

t.test('job 10: 30 cron runs of --once over a growing log equal one run over the whole log', async t => {
  const address = await redis(t)
  if (!address) return
  const text = await generated(6000, 10)
  const cron = freshDir()
  const env = userEnv({ DSTREAM_SQL_URL: `sqlite:${path.join(cron, 'stats.db')}`, DSTREAM_REDIS_URL: await redisDb(t, address), DSTREAM_STATE_DIR: path.join(cron, 'state') })
  // cut points anywhere, in the middle of lines too: a line without its newline waits for the next run
  const next = random(4242)
  const cuts = [...Array.from({ length: 29 }, () => Math.floor(next() * text.length)).sort((a, b) => a - b), text.length]
  let written = 0
  for (const [run, cut] of cuts.entries()) {
    fs.appendFileSync(path.join(cron, 'access.log'), text.slice(written, cut))
    written = cut
    const ran = await sh(`${SCRIPT} access.log --once`, { cwd: cron, env, timeout: 60_000 })
    if (ran.code !== 0) t.fail(`run ${run + 1} exited ${ran.code}: ${ran.stderr}`)
  }
  const once = freshDir()
  const whole = await sh(`cp ${cron}/access.log . && ${SCRIPT} access.log --once`, {
    cwd: once,
    env: userEnv({ DSTREAM_SQL_URL: `sqlite:${path.join(once, 'stats.db')}`, DSTREAM_REDIS_URL: await redisDb(t, address), DSTREAM_STATE_DIR: path.join(once, 'state') })
  })
  t.equal(whole.code, 0, whole.stderr)
  const [courses, searches] = truth(text)
  const cronSql = await sqlCounts(env.DSTREAM_SQL_URL!)
  t.same(cronSql.map(sorted), [sorted(courses), sorted(searches)], 'the 30 runs counted every click once, in SQL')
  t.same((await sqlCounts(`sqlite:${path.join(once, 'stats.db')}`)).map(sorted), cronSql.map(sorted), 'the same tables as one run over the whole log')
  t.same((await redisCounts(env.DSTREAM_REDIS_URL!)).map(sorted), [sorted(courses), sorted(searches)], 'and in Redis')
})
