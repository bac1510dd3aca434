// The course's capstone by its Flume path: a real Flume 1.11.0 agent tails access.log
// (TAILDIR source, its position file in a temporary directory) through a file channel
// into Kafka (org.apache.flume.sink.kafka.KafkaSink, to a fresh topic of 3 partitions,
// acks all), and `dstream kafka | ... | to-sql, to-redis` counts the clicks per day and
// course as examples/course-clicks.sh does (filter /class/, map -r access-log.mjs parse,
// [day_course, 1], reduce-by-key sum, to-sql --mode add, to-redis --hincrby). The log
// is 3,000 lines of `dstream generate --seed 5`, appended as the README does; the topic
// must hold them all, each once and unchanged; the table and the Redis hashes must equal
// the counts made here from access.log, without dstream.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { Redis } from 'ioredis'
import { ROOT, freshDir, sh } from '../helpers.js'
import { createTopic, deleteTopics, pollFor, readTopic, topicEnds, uniqueName } from '../kafkaHelpers.js'
import { flume, kafka, redis } from '../services.js'
import { tableRows } from '../sqlHelpers.js'

const run = promisify(execFile)
const PARSER = path.join(ROOT, 'examples', 'access-log.mjs')
const LINES = 3000
/** A Redis database of the test server no other test file uses (test/e2e/sql-jobs.test.ts takes 10 to 14). */
const REDIS_DB = 15

type Counts = Map<string, number>
const sorted = (m: Counts) => [...m].sort(([a], [b]) => a < b ? -1 : 1)

/** The clicks on course pages per day and course, DAY_COURSE -> n, counted here without dstream. */
function truth (log: string): Counts {
  const counts: Counts = new Map()
  for (const line of log.split('\n')) {
    const m = /^\S+ (\d+)-(\d+)-(\d+) \S+ "GET \/class\/(\d+)\.html \S+" \d+ \S+$/.exec(line)
    if (m) counts.set(`${m[1]}${m[2]}${m[3]}_${m[4]}`, (counts.get(`${m[1]}${m[2]}${m[3]}_${m[4]}`) ?? 0) + 1)
  }
  return counts
}

t.test('Flume (taildir, file channel, Kafka sink) into Kafka, then dstream kafka | ... | to-sql, to-redis: the counts of access.log', async t => {
  const agent = flume(t)
  if (!agent) return
  const brokers = await kafka(t)
  if (!brokers) return
  const redisAddress = await redis(t)
  if (!redisAddress) return
  const began = Date.now()
  const dir = freshDir()
  const log = path.join(dir, 'access.log')
  const agentsDir = path.join(process.env.FLUME_HOME ?? path.join(ROOT, '.flume'), 'agents')
  const name = `test-${process.pid}-taildir`
  const topic = await createTopic(brokers, uniqueName('flume-access'), 3)
  const redisUrl = `redis://${redisAddress}/${REDIS_DB}`
  const flush = async () => { const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 }); await client.flushdb(); client.disconnect() }
  await flush()
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await run(agent, ['stop', name]).catch(() => {})
    await deleteTopics(brokers, [topic])
    await flush()
    if (t.passing()) fs.rmSync(path.join(agentsDir, name), { recursive: true, force: true })
    else t.comment(`kept ${dir} and the agent's log in ${path.join(agentsDir, name)}`)
  })

  // the course's log, appended by the generator as the README does
  const generated = await sh(`dstream generate --rate 0 --count ${LINES} --seed 5 | dstream foreach --text -- sh -c 'cat >> access.log'`, { cwd: dir })
  t.equal(generated.code, 0, `the generator wrote access.log${generated.code === 0 ? '' : `: ${generated.stderr}`}`)
  const text = fs.readFileSync(log, 'utf8')
  const lines = text.split('\n').filter(line => line !== '')
  const written = Date.now()
  t.equal(lines.length, LINES, `access.log has ${LINES} lines`)

  // TAILDIR's filegroup is a directory and a regular expression for the names of the
  // files in it: access\.log. Java reads a backslash in a properties file as an escape
  // (\. is a plain .), so the file must hold access\\.log.
  const conf = path.join(dir, `${name}.properties`)
  fs.writeFileSync(conf, `
${name}.sources = tail
${name}.channels = ch
${name}.sinks = kafka
${name}.sources.tail.type = TAILDIR
${name}.sources.tail.positionFile = ${dir}/flume/taildir_position.json
${name}.sources.tail.filegroups = log
${name}.sources.tail.filegroups.log = ${dir}/access\\\\.log
${name}.sources.tail.batchSize = 500
${name}.sources.tail.channels = ch
${name}.channels.ch.type = file
${name}.channels.ch.checkpointDir = ${dir}/flume/checkpoint
${name}.channels.ch.dataDirs = ${dir}/flume/data
${name}.channels.ch.transactionCapacity = 1000
${name}.sinks.kafka.type = org.apache.flume.sink.kafka.KafkaSink
${name}.sinks.kafka.channel = ch
${name}.sinks.kafka.kafka.bootstrap.servers = ${brokers}
${name}.sinks.kafka.kafka.topic = ${topic}
${name}.sinks.kafka.flumeBatchSize = 500
${name}.sinks.kafka.kafka.producer.acks = all
${name}.sinks.kafka.kafka.producer.linger.ms = 5
`)
  const started = await run(agent, ['start', name, conf])
  t.match(started.stdout, /started/, 'the agent started')
  const agentUp = Date.now()

  // every line in the topic (end offsets), and not one more
  const total = async () => (await topicEnds(brokers, topic)).reduce((sum, p) => sum + p.high - p.low, 0)
  const inTopic = await pollFor(total, n => n >= LINES, { ms: 30_000, every: 250 })
  const delivered = Date.now()
  t.equal(inTopic, LINES, `the topic holds the ${LINES} lines`)
  await run(agent, ['stop', name])
  stopped = true
  const agentDown = Date.now()
  t.equal(await total(), LINES, 'and no more once the agent has stopped')
  const messages = await readTopic(brokers, topic)
  t.same(messages.map(m => m.value).sort(), [...lines].sort(), 'each line of access.log once, as it was (the message value is the event body)')
  t.ok(messages.every(m => m.key === null && Object.keys(m.headers).length === 0), 'without a key or headers (the events have no "key" header, and the sink maps no header)')
  const perPartition = [0, 1, 2].map(p => messages.filter(m => m.partition === p).length)
  const position = JSON.parse(fs.readFileSync(path.join(dir, 'flume', 'taildir_position.json'), 'utf8')) as Array<{ inode: number, pos: number, file: string }>
  t.same(position.map(p => [p.file, p.pos]), [[log, Buffer.byteLength(text)]], 'the position file: access.log read to its end')

  // the capstone's counting of course clicks, from the topic
  const job0 = Date.now()
  const state = path.join(dir, 'state')
  const db = `sqlite:${path.join(dir, 'stats.db')}`
  const job = await sh(`dstream kafka --brokers ${brokers} --topic ${topic} --group ${uniqueName('flume-capstone')} --from earliest --once --interval 200ms \\
      then filter '_.includes("GET /class/")' \\
      then map -r ${PARSER} parse \\
    | dstream map '_ => [_.day + "_" + _.course, 1]' \\
      then reduce-by-key sum \\
      then to-sql ${db} --table course_clickcount --columns day_course,click_count --mode add --key day_course --create --pass \\
      then to-redis ${redisUrl} --hincrby '([k]) => "course_clickcount:" + k.slice(0, 8)' '([k]) => k.slice(9)' '([, n]) => n'`,
  { env: { DSTREAM_STATE_DIR: state }, timeout: 60_000 })
  t.equal(job.code, 0, `the counting job read the topic to its end and exited 0${job.code === 0 ? '' : `: ${job.stderr}`}`)
  const counted = Date.now()
  const s = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`

  const want = truth(text)
  const clicks = [...want.values()].reduce((a, b) => a + b, 0)
  t.ok(clicks > LINES / 4, `access.log has ${clicks} clicks on course pages, over ${want.size} (day, course) keys`)
  const rows = await tableRows(db, 'course_clickcount', ['day_course', 'click_count'])
  t.same(sorted(new Map(rows.map(([k, n]) => [String(k), Number(n)]))), sorted(want), 'course_clickcount equals the counts of access.log')
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  try {
    const hashes: Counts = new Map()
    for (const key of await client.keys('course_clickcount:*')) {
      for (const [course, n] of Object.entries(await client.hgetall(key))) hashes.set(`${key.slice('course_clickcount:'.length)}_${course}`, Number(n))
    }
    t.same(sorted(hashes), sorted(want), 'the Redis hashes course_clickcount:DAY likewise')
  } finally {
    client.disconnect()
  }
  t.comment(`${s(began, Date.now())} in all: the topic made and access.log written in ${s(began, written)}, the agent started in ${s(written, agentUp)}, all lines in Kafka ${s(agentUp, delivered)} later, the agent stopped in ${s(delivered, agentDown)}, the topic read back and checked in ${s(agentDown, job0)}, dstream's counting job ran in ${s(job0, counted)}; messages per partition: ${perPartition.join(', ')}`)
})
