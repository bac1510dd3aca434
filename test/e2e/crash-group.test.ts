// Scale-out through Kafka: three instances of one pipeline, each with its own state
// directory, in one consumer group over a topic of 6 partitions, with to-kafka the
// pipeline's only sink, so the source's offsets are committed in to-kafka's
// transactions. Seeded random kill -9s of any process of any instance, each killed
// instance started again after a moment, while the others go on; then every instance
// is stopped gracefully. Read with read_committed, the output topic holds every input
// record's result exactly once, and the group's lag is 0.
//
// (With the offsets committed by the source after the sink, as with other sinks, a
// source killed between to-kafka's commit and its own left records to be read again
// by whoever took its partitions: this test saw them written twice.)
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { keep, random, sleep } from '../crash.js'
import { freshDir } from '../helpers.js'
import { Instance, groupGround } from '../instances.js'
import { groupLag, pollFor, produce, readTopic } from '../kafkaHelpers.js'
import { kafka } from '../services.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)
const PARTITIONS = 6
const RECORDS = 9000
const INSTANCES = 3

t.test('three instances in one group, to-kafka the only sink, processes killed at random: every record once', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const { seed, input, output, group, instances } = await groupGround(t, brokers, 'group', PARTITIONS)
  const values = Array.from({ length: RECORDS }, (_, n) => `v${n}`)
  await produce(brokers, input, values.map((value, n) => ({ key: `k${n}`, value, partition: n % PARTITIONS })))

  const next = random(seed)
  // everything random is drawn now, so that the seed alone says what happens
  const kills = Array.from({ length: KILLS }, () => ({ after: 1500 + Math.round(next() * 3500), instance: Math.floor(next() * INSTANCES), stage: Math.floor(next() * 3) }))
  const restarts = Array.from({ length: INSTANCES }, () => Array.from({ length: KILLS + 5 }, () => 500 + Math.round(next() * 9500)))
  const stages = [
    // 20 records a partition a batch: the input takes 75 batches (some 40 s) however the partitions are shared
    ['kafka', '--brokers', brokers, '--topic', input, '--group', group, '--from', 'earliest', '--session-timeout', '6s', '--interval', '500ms', '--max-rate-per-partition', '40'],
    ['map', 'v => "out-" + v'],
    ['to-kafka', '--brokers', brokers, '--topic', output, '--key', 'v => v']
  ]
  const root = freshDir()
  const said: string[] = []
  const log = (text: string) => { said.push(text); t.comment(text) }
  for (let i = 0; i < INSTANCES; i++) {
    const dir = path.join(root, `instance-${i}`)
    fs.mkdirSync(dir)
    let restart = 0
    instances.push(new Instance(`instance ${i}`, dir, stages, () => restarts[i][Math.min(restart++, KILLS + 4)], log))
    await sleep(1000)
  }

  for (const [n, kill] of kills.entries()) {
    await sleep(kill.after)
    const hit = instances[kill.instance].kill(kill.stage)
    log(`seed ${seed}: kill ${n + 1}: kill -9 dstream ${stages[kill.stage][0]} of instance ${kill.instance}${hit ? '' : ' (it was not running: no kill)'}`)
  }

  const lag = await pollFor(() => groupLag(brokers, group, input), l => l.total === 0, { ms: 150_000, every: 1000 })
  t.equal(lag.total, 0, `the group's lag ends at 0 (${[...lag.partitions].map(([p, n]) => `${p}: ${n}`).join(', ')})`)

  const codes = await Promise.all(instances.map(i => i.stop()))
  t.same(codes, codes.map(() => 0), 'every instance stops gracefully with exit 0')

  const written = (await readTopic(brokers, output)).map(m => m.value!)
  const seen = new Map<string, number>()
  for (const v of written) seen.set(v, (seen.get(v) ?? 0) + 1)
  const twice = [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v} ×${n}`)
  const lost = values.filter(v => !seen.has(`out-${v}`))
  t.same(twice.slice(0, 20), [], `no record is in the output twice (${twice.length} are)`)
  t.same(lost.slice(0, 20), [], `no record is missing from the output (${lost.length} are)`)
  t.equal(written.length, RECORDS, 'as many records in the output as in the input')

  const stderr = instances.map(i => fs.readFileSync(path.join(root, `instance-${instances.indexOf(i)}`, 'stderr.log'), 'utf8')).join('\n')
  t.comment(`runs: ${instances.map(i => `${i.name}: ${i.runs}`).join(', ')}; restarts with batches to-kafka had not committed: ${(stderr.match(/had not committed \(/g) ?? []).length}; that replayed committed ones: ${(stderr.match(/replaying \d+ batch/g) ?? []).length}`)
  if (!t.passing()) t.comment(`kept for a look: ${keep(seed, { instances: root })} (stderr.log of each instance)`)
})
