// to-redis under the crash test: a live `tail | filter | map | to-redis` pipeline
// whose sink applies HINCRBY (not idempotent: a batch applied twice counts twice)
// to hashes in the real Redis, killed with SIGKILL at random moments, any of its
// processes, and started again each time; a last run reads the file to its end.
// The hashes must then equal the counts computed from the input: nothing lost,
// nothing counted twice.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { appendWhileRunning, crashRuns, keep, random, runPipeline, seedFromEnv } from '../crash.js'
import { freshDir } from '../helpers.js'
import { redis } from '../services.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 8)

/** tail's batch interval, ms */
const INTERVAL = 200

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const COURSES = ['spark', 'kafka', 'flink', 'storm', 'beam', 'samza']


t.test('tail | filter | map | to-redis --hincrby: the hashes equal the truth', async t => {
  const address = await redis(t)
  if (!address) return
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0x4ed15)
  const prefix = `crash-to-redis-${process.pid}-${seed}`
  // "day course n" lines, and now and then a comment that the filter drops
  const lines = Array.from({ length: 5000 }, (_, i) => i % 97 === 0
    ? `# comment ${i}`
    : `${DAYS[Math.floor(next() * DAYS.length)]} ${COURSES[Math.floor(next() * COURSES.length)]} ${1 + Math.floor(next() * 9)}`)
  const truth: Record<string, Record<string, string>> = {}
  for (const line of lines.filter(l => !l.startsWith('#'))) {
    const [day, course, n] = line.split(' ')
    const hash = (truth[`${prefix}:${day}`] ??= {})
    hash[course] = String(Number(hash[course] ?? 0) + Number(n))
  }
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--interval', `${INTERVAL}ms`, ...(once ? ['--once'] : [])],
    ['filter', '!_.startsWith("#")'],
    ['map', 'l => { const [day, course, n] = l.split(" "); return { day, course, n: Number(n) } }'],
    ['to-redis', `redis://${address}`, '--hincrby', `'${prefix}:' + _.day`, '_.course', '_.n']
  ]

  const colon = address.lastIndexOf(':')
  const client = new Redis({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  const dir = freshDir()
  const sinkName = () => fs.readdirSync(path.join(dir, 'state')).find(n => n.startsWith('to-redis-'))!
  const markerKey = () => `dstream:commit:${sinkName()}`
  t.teardown(async () => {
    const keys = await client.keys(`${prefix}:*`)
    if (fs.existsSync(path.join(dir, 'state'))) keys.push(markerKey())
    await client.del(...keys)
    await client.quit()
  })

  // A kill between to-redis's EXEC and its commit in the state directory is what the
  // marker is for, and a random kill seldom lands in that millisecond: after some
  // runs (seeded) the commit is set back by one batch, as if it had. The batch then
  // comes again, and only the marker keeps HINCRBY from counting it twice.
  const setBack = random(seed ^ 0x5e7)
  const setBacks: number[] = []
  let run = 0
  const afterRun = () => {
    run++
    if (setBack() < 0.5) return
    const file = path.join(dir, 'state', sinkName(), 'commit.json')
    const commit = JSON.parse(fs.readFileSync(file, 'utf8'))
    if (typeof commit.committed !== 'number') return
    fs.writeFileSync(file, JSON.stringify({ ...commit, committed: commit.committed - INTERVAL }) + '\n')
    setBacks.push(commit.committed)
    t.comment(`seed ${seed}: after run ${run}: to-redis's commit set back from ${commit.committed} to ${commit.committed - INTERVAL}, as if killed between its EXEC and its commit`)
  }

  const started = Date.now()
  const input = appendWhileRunning(path.join(dir, 'input.log'), lines, 40, 25)
  const kills = await crashRuns(dir, seed, KILLS, stages(false), { minMs: 300, maxMs: 2500, afterRun, log: text => t.comment(text) })
  input.stop()
  const last = await runPipeline(dir, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  t.comment(`${kills.length} kills and the last run in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const got: Record<string, Record<string, string>> = {}
  for (const key of (await client.keys(`${prefix}:*`)).sort()) got[key] = await client.hgetall(key)
  const canonical = (hashes: typeof got) => JSON.stringify(Object.keys(hashes).sort().map(k => [k, Object.entries(hashes[k]).sort()]))
  if (canonical(got) !== canonical(truth)) t.comment(`the run is kept in ${keep(seed, { crashed: dir })}`)
  t.same(got, truth, `seed ${seed}: every hash equals the counts of the input (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  const log = fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8') + last.stderr
  const skips = (log.match(/dstream to-redis: batch \d+ comes again: written by an earlier run/g) ?? []).length
  t.comment(`runs given again a batch they had written, and skipping it by the marker in Redis: ${skips}`)
  if (setBacks.length > 0) t.ok(skips > 0, `the marker skipped batches that came again (commits set back after ${setBacks.length} runs)`)
  t.ok(Number(await client.get(markerKey())) > 0, `the marker ${markerKey()} holds the last batch written`)
})
