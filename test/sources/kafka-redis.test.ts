// The kafka source with --offsets-store redis://: the offsets of the group live in
// the Redis hash dstream:offsets:GROUP:TOPIC (partition -> next offset) and not in
// Kafka; a run with a fresh state directory goes on where Redis says; a Redis that
// cannot be reached is said on stderr, and the source keeps trying (it does not exit
// silently) until it is stopped, and a graceful stop still ends it; a Redis lost and
// back under a running pipeline gets the offsets again.
import path from 'node:path'
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { Redis } from 'ioredis'
import { ROOT, freshDir, sh } from '../helpers.js'
import { pipeline, pollFor, saved, within, type Pipeline } from '../kafkaHelpers.js'
import { kafka, redis } from '../services.js'
import { freePort } from './live.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

t.test('offsets in a Redis hash, not in the group', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const address = await redis(t)
  if (!address) return
  const id = `${process.pid}-${Date.now()}`
  const topic = `kafka-redis-${id}`
  const group = `kafka-redis-g-${id}`
  const hash = `dstream:offsets:${group}:${topic}`
  const url = `redis://${address}/0`

  const client = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING })
  const admin = client.admin()
  await admin.connect()
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const colon = address.lastIndexOf(':')
  const store = new Redis({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), lazyConnect: true, maxRetriesPerRequest: 1 })
  await store.connect()
  t.teardown(async () => {
    await store.del(hash).catch(() => {})
    await store.quit().catch(() => {})
    await producer.disconnect().catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect().catch(() => {})
  })
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })

  const first = Array.from({ length: 30 }, (_, i) => `first-${i}`)
  await producer.send({ topic, messages: first.map((value, i) => ({ value, partition: i % 3 })) })

  const run = (state: string, out: string) => sh(
    `dstream kafka --brokers ${brokers} --topic ${topic} --group ${group} --from earliest --once --offsets-store ${url} | dstream save ${out}/b`,
    { env: { DSTREAM_STATE_DIR: state }, timeout: 90_000 })

  const out1 = freshDir()
  const one = await run(freshDir(), out1)
  t.equal(one.code, 0, `the first --once run exits 0\n${one.stderr}`)
  t.same(saved(out1).sort(), [...first].sort(), 'it saved every message once')

  const ends = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map(p => [String(p.partition), String(p.high)]))
  t.same(ends, { 0: '10', 1: '10', 2: '10' }, 'the topic ends at 10 on each partition')
  t.same(await store.hgetall(hash), ends, `HGETALL ${hash} is the end offset of every partition`)
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  t.same(committed[0].partitions.map(p => p.offset), ['-1', '-1', '-1'], 'the Kafka group has no committed offsets')

  const second = Array.from({ length: 12 }, (_, i) => `second-${i}`)
  await producer.send({ topic, messages: second.map((value, i) => ({ value, partition: i % 3 })) })
  // a fresh state directory: only Redis knows where the group was
  const out2 = freshDir()
  const two = await run(freshDir(), out2)
  t.equal(two.code, 0, `the second --once run exits 0\n${two.stderr}`)
  t.same(saved(out2).sort(), [...second].sort(), 'the second run read only the new messages')
  t.same(await store.hgetall(hash), { 0: '14', 1: '14', 2: '14' }, 'the hash moved to the new ends')
  const still = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  t.same(still[0].partitions.map(p => p.offset), ['-1', '-1', '-1'], 'still nothing committed in the Kafka group')
})

t.test('a Redis that cannot be reached: said on stderr, tried again until stopped', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const id = `${process.pid}-${Date.now()}`
  const topic = `kafka-redis-down-${id}`
  const group = `kafka-redis-down-g-${id}`
  const admin = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  t.teardown(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect().catch(() => {})
  })
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })

  const p = pipeline(
    `dstream kafka --brokers ${brokers} --topic ${topic} --group ${group} --from earliest --offsets-store redis://127.0.0.1:1/0 | dstream save ${freshDir()}/b`,
    { DSTREAM_STATE_DIR: freshDir() })
  t.teardown(() => p.signal('SIGKILL'))

  await sleep(6000)
  t.ok(p.running(), `still running after 6 s (it keeps trying)\n${p.stderr()}`)
  t.match(p.stderr(), /dstream kafka: cannot .*redis:\/\/127\.0\.0\.1:1\/0/, 'stderr names the offset store it cannot reach')
  t.match(p.stderr(), /trying again/, 'and says it tries again')

  // a graceful stop (Ctrl-C to the process group) ends it, within the 30 s the source allows the sinks
  const stoppedAt = Date.now()
  p.signal('SIGINT')
  const ended = await within(p.closed.then(() => true), 40_000, false)
  t.ok(ended, `one SIGINT stops the pipeline while the store is unreachable (waited ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s)\n${p.stderr()}`)
  if (!ended) {
    p.signal('SIGKILL')
    await p.closed
  }
})

t.test('a Redis lost and back under a running pipeline', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  if (!await redis(t)) return
  // a Redis server of this test's own, to stop and start: never the shared one
  const port = await freePort()
  const redisEnv = { REDIS_HOME: freshDir(), REDIS_PORT: String(port) }
  const server = (command: 'start' | 'stop') => sh(`${path.join(ROOT, 'scripts', 'redis', 'server.sh')} ${command}`, { env: redisEnv, timeout: 60_000, cwd: ROOT })
  const id = `${process.pid}-${Date.now()}`
  const topic = `kafka-redis-lost-${id}`
  const group = `kafka-redis-lost-g-${id}`
  const hash = `dstream:offsets:${group}:${topic}`
  const client = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING })
  const admin = client.admin()
  await admin.connect()
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  let p: Pipeline | undefined
  t.teardown(async () => {
    p?.signal('SIGKILL')
    await server('stop')
    await producer.disconnect().catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect().catch(() => {})
  })
  const up = await server('start')
  t.equal(up.code, 0, `a Redis server of our own on 127.0.0.1:${port}\n${up.stdout}${up.stderr}`)
  if (up.code !== 0) return
  const hashNow = async (): Promise<Record<string, string> | undefined> => {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    try {
      await r.connect()
      return await r.hgetall(hash)
    } catch {
      return undefined
    } finally {
      r.disconnect()
    }
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })
  const values: string[] = []
  const produce = async (n: number) => {
    const more = Array.from({ length: n }, (_, i) => `r${values.length + i}`)
    await producer.send({ topic, messages: more.map((value, i) => ({ value, partition: (values.length + i) % 2 })) })
    values.push(...more)
  }
  await produce(20)

  const out = freshDir()
  p = pipeline(
    `dstream kafka --brokers ${brokers} --topic ${topic} --group ${group} --from earliest --offsets-store redis://127.0.0.1:${port}/0 | dstream save ${out}/b`,
    { DSTREAM_STATE_DIR: freshDir() })
  t.ok(await pollFor(async () => same(await hashNow(), { 0: '10', 1: '10' }), ok => ok, { ms: 30_000 }), `the offsets reach Redis: ${JSON.stringify(await hashNow())}\n${p.stderr()}`)
  t.equal(saved(out).length, 20, 'the first 20 are saved')

  // Redis goes away (without persistence: it comes back empty); the pipeline reads on
  t.equal((await server('stop')).code, 0, 'Redis is stopped')
  await produce(10)
  t.ok(await pollFor(() => saved(out).length >= 30 || !p!.running(), ok => ok, { ms: 30_000 }), `the records keep coming without Redis\n${p.stderr()}`)
  t.ok(await pollFor(() => /dstream kafka: cannot (reach|write) redis:\/\//.test(p!.stderr()), ok => ok, { ms: 15_000 }), `the source says it cannot reach the store\n${p.stderr()}`)
  t.ok(p.running(), 'and keeps running')

  t.equal((await server('start')).code, 0, 'Redis is started again')
  t.ok(await pollFor(async () => same(await hashNow(), { 0: '15', 1: '15' }), ok => ok, { ms: 30_000 }), `once it is back the offsets of the records read meanwhile reach it: ${JSON.stringify(await hashNow())}\n${p.stderr()}`)

  // lost again, with records read whose offsets it does not have: a graceful stop must still end (the source
  // waits up to 30 s for the commits, then exits)
  t.equal((await server('stop')).code, 0, 'Redis is stopped again')
  await produce(10)
  t.ok(await pollFor(() => saved(out).length >= 40 || !p!.running(), ok => ok, { ms: 30_000 }), `the records keep coming without Redis\n${p.stderr()}`)
  const stoppedAt = Date.now()
  p.signal('SIGINT')
  const ended = await within(p.closed.then(() => true), 45_000, false)
  t.ok(ended, `one SIGINT stops the pipeline while the store is down (waited ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s)\n${p.stderr()}`)
  if (!ended) {
    p.signal('SIGKILL')
    await p.closed
  }
  const records = saved(out)
  t.same([...records].sort(), [...values].sort(), 'every record was saved once')
})
