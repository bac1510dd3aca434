// to-kafka under the crash test: a tail pipeline by event time writing into a real
// topic, killed with SIGKILL at random moments and started again; the topic, read
// with read_committed, holds exactly what an uninterrupted run writes.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { WINDOWED_STATE, crashRuns, random, runPipeline, seedFromEnv, timedRecords } from '../crash.js'
import { freshDir } from '../helpers.js'
import { kafka } from '../services.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)

async function topic (brokers: string, name: string): Promise<void> {
  const admin = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
}

/** The topic's committed messages (read_committed), in order: read until none has come for 3 s. */
async function messages (brokers: string, name: string): Promise<string[]> {
  const consumer = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `reader-${name}`, readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topics: [name], fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>(resolve => {
    let idle = setTimeout(resolve, 10_000)
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString())
        clearTimeout(idle)
        idle = setTimeout(resolve, 3000)
      }
    })
  })
  await consumer.disconnect()
  return seen
}

t.test('by event time into a topic: the same records, once each', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const lines = timedRecords(random(seed ^ 0x7a), 2000)
  const suffix = `${process.pid}-${seed}`
  const stages = (out: string, once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--json', '--event-time', '_.ts', '--watermark', '1s', '--interval', '1s', ...(once ? ['--once'] : [])],
    ['flat-map', '_.words'],
    ['map', '[_, 1]'],
    ...WINDOWED_STATE.slice(0, -1),
    ['to-kafka', '--brokers', brokers, '--topic', out]
  ]
  await topic(brokers, `crashed-${suffix}`)
  await topic(brokers, `whole-${suffix}`)

  const crashed = freshDir()
  fs.writeFileSync(path.join(crashed, 'input.log'), '')
  let i = 0
  const timer = setInterval(() => {
    fs.appendFileSync(path.join(crashed, 'input.log'), lines.slice(i, i + 20).map(l => l + '\n').join(''))
    i += 20
  }, 40)
  try {
    await crashRuns(crashed, seed, KILLS, stages(`crashed-${suffix}`, false), { minMs: 500, maxMs: 3000, log: text => t.comment(text) })
  } finally {
    clearInterval(timer)
  }
  fs.appendFileSync(path.join(crashed, 'input.log'), lines.slice(i).map(l => l + '\n').join(''))
  const last = await runPipeline(crashed, stages(`crashed-${suffix}`, true))
  t.same(last.statuses, stages('', true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)

  const whole = freshDir()
  fs.writeFileSync(path.join(whole, 'input.log'), lines.map(l => l + '\n').join(''))
  const reference = await runPipeline(whole, stages(`whole-${suffix}`, true))
  t.same(reference.statuses, stages('', true).map(() => 0), reference.stderr)

  const expected = await messages(brokers, `whole-${suffix}`)
  t.ok(expected.length > 100, `the uninterrupted run wrote ${expected.length} records`)
  t.same(await messages(brokers, `crashed-${suffix}`), expected, `seed ${seed}: read_committed, the topic holds the same records in the same order`)
})
