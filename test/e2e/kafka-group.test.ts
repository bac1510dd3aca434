// Two instances of one kafka pipeline in one consumer group, each with its own state
// directory, while a producer writes all along: the second one joins (a rebalance),
// then the first one stops gracefully (its partitions go to the second), and the
// records the two saved are every record produced, each once.
import path from 'node:path'
import t from 'tap'
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { freshDir } from '../helpers.js'
import { pipeline, saved, within, type Pipeline } from '../kafkaHelpers.js'
import { kafka } from '../services.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** The partition sets an instance said it reads, in order ("reading T/0,1,2,3"). */
function readings (stderr: string, topic: string): string[] {
  return [...stderr.matchAll(new RegExp(`dstream kafka: reading ${topic}/([\\d,]+)`, 'g'))].map(m => m[1])
}

/** How many records the group has not committed yet, over all partitions. */
async function lag (admin: Admin, group: string, topic: string): Promise<number> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map(p => [p.partition, Number(p.high)]))
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  let behind = 0
  for (const { partition, offset } of committed[0].partitions) behind += (ends.get(partition) ?? 0) - Math.max(0, Number(offset))
  return behind
}

t.test('two instances in one group: every record once, across a join and a graceful leave', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const id = `${process.pid}-${Date.now()}`
  const topic = `kafka-group-${id}`
  const group = `kafka-group-g-${id}`
  const client = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING })
  const admin = client.admin()
  await admin.connect()
  // idempotent: a retried send does not write its messages twice
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const started: Pipeline[] = []
  let producing = false
  t.teardown(async () => {
    producing = false
    for (const p of started) p.signal('SIGKILL')
    await producer.disconnect().catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect().catch(() => {})
  })
  await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true })

  const produced: string[] = []
  let next = 0
  producing = true
  let failure: unknown
  const production = (async () => {
    while (producing) {
      const messages = Array.from({ length: 50 }, () => { const n = next++; return { value: `v${n}`, partition: n % 4 } })
      try {
        await producer.send({ topic, messages })
        produced.push(...messages.map(m => m.value))
      } catch (err) {
        failure = err
        return
      }
      await sleep(100)
    }
  })()

  const instance = (name: string) => {
    const out = freshDir()
    const p = pipeline(
      `dstream kafka --brokers ${brokers} --topic ${topic} --group ${group} --from earliest --session-timeout 6s | dstream save ${out}/b`,
      { DSTREAM_STATE_DIR: path.join(freshDir(), `state-${name}`) })
    started.push(p)
    return { p, out }
  }

  const a = instance('A')
  await a.p.waitFor(new RegExp(`reading ${topic}/0,1,2,3`), 60_000)
  t.pass('A reads every partition')
  await sleep(3000)

  const b = instance('B')
  // B joins: the group rebalances and the partitions are shared
  await b.p.waitFor(new RegExp(`reading ${topic}/\\d,\\d\\n`), 60_000)
  await a.p.waitFor(new RegExp(`reading ${topic}/0,1,2,3[\\s\\S]*reading ${topic}/\\d,\\d\\n`), 60_000)
  t.pass('after B joined, each reads two partitions')
  await sleep(4000)
  t.ok(saved(a.out).length > 0, 'A has saved records')

  const stoppingA = Date.now()
  a.p.signal('SIGINT')
  const codeA = await within(a.p.closed, 60_000, 'still running')
  t.equal(codeA, 0, `A stops gracefully, exit 0 (in ${((Date.now() - stoppingA) / 1000).toFixed(1)} s)\n${a.p.stderr()}`)
  await b.p.waitFor(new RegExp(`reading ${topic}/\\d,\\d\\n[\\s\\S]*reading ${topic}/0,1,2,3`), 60_000)
  t.pass('after A left, B reads every partition')
  await sleep(3000)
  producing = false
  await production
  t.equal(failure, undefined, 'the producer had no error')
  t.comment(`${produced.length} messages produced`)

  // B catches up: the group's committed offsets reach the end of every partition
  const deadline = Date.now() + 60_000
  let behind = await lag(admin, group, topic)
  while (behind > 0 && Date.now() < deadline) {
    await sleep(500)
    behind = await lag(admin, group, topic)
  }
  t.equal(behind, 0, 'the group has no lag')

  b.p.signal('SIGINT')
  const codeB = await within(b.p.closed, 60_000, 'still running')
  t.equal(codeB, 0, `B stops gracefully, exit 0\n${b.p.stderr()}`)

  const byA = saved(a.out)
  const byB = saved(b.out)
  t.ok(byA.length > 0, `A saved ${byA.length} records`)
  t.ok(byB.length > 0, `B saved ${byB.length} records`)
  const all = [...byA, ...byB]
  const seen = new Map<string, number>()
  for (const v of all) seen.set(v, (seen.get(v) ?? 0) + 1)
  const twice = [...seen].filter(([, n]) => n > 1).map(([v]) => v)
  const lost = produced.filter(v => !seen.has(v))
  const unknown = [...seen.keys()].filter(v => !/^v\d+$/.test(v) || Number(v.slice(1)) >= next)
  t.same(twice, [], 'no record was saved twice')
  t.same(lost, [], 'no record was lost')
  t.same(unknown, [], 'nothing was saved that was not produced')
  t.equal(all.length, produced.length, 'as many records saved as produced')

  const ra = readings(a.p.stderr(), topic)
  const rb = readings(b.p.stderr(), topic)
  t.ok(new Set(ra).size >= 2, `A's stderr shows its partitions changing: ${ra.join(' then ')}`)
  t.ok(new Set(rb).size >= 2, `B's stderr shows its partitions changing: ${rb.join(' then ')}`)
})
