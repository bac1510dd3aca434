// A broker stopped and restarted under a running kafka pipeline: a second broker of
// our own (scripts/kafka/broker.sh with KAFKA_HOME, KAFKA_PORT, KAFKA_CONTROLLER_PORT
// and KAFKA_KEEP_DATA=1, so a restart keeps its topics and offsets), on ports of its
// own, never the shared one at 127.0.0.1:19092. While the broker is down the pipeline
// keeps running and says it cannot reach the brokers; once it is back, the pipeline
// goes on, and every message produced before and after is saved exactly once.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { ROOT, sh } from '../helpers.js'
import { pipeline, pollFor, saved, within, type Pipeline } from '../kafkaHelpers.js'
import { kafka } from '../services.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

const BROKER_SH = path.join(ROOT, 'scripts', 'kafka', 'broker.sh')

/** Whether nothing listens on 127.0.0.1:port. */
function free (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A listener and a controller port for the second broker: a free pair picked at
 * random in 20000-29999 (below the ephemeral ports), so that two runs of this test at
 * once (say, in two clones) do not take each other's ports while a broker is down.
 */
async function brokerPorts (): Promise<[number, number]> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 5000)
    if (await free(port) && await free(port + 1)) return [port, port + 1]
  }
  throw new Error('no two free ports for a second broker in 20000-29999')
}

/** A call to a broker that has just started, tried again for up to a minute while it settles. */
async function retried<T> (call: () => Promise<T>): Promise<T> {
  for (let deadline = Date.now() + 60_000; ; await new Promise(resolve => setTimeout(resolve, 1000))) {
    try {
      return await call()
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
  }
}

/**
 * Produces these values (round robin over the partitions) with a producer of its own,
 * disconnected after. Idempotent: a send retried on a broker that has just started
 * does not write its messages twice.
 */
async function produce (brokers: string, topic: string, values: string[], partitions: number): Promise<void> {
  const producer = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < values.length; i += 25) {
      await producer.send({ topic, messages: values.slice(i, i + 25).map((value, j) => ({ value, partition: (i + j) % partitions })) })
    }
  } finally {
    await producer.disconnect().catch(() => {})
  }
}

/** The end offset of every partition, once the broker serves them all (it may be loading them after a start). */
async function ends (brokers: string, topic: string, ms = 60_000): Promise<number[]> {
  const admin = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
  const deadline = Date.now() + ms
  try {
    for (;;) {
      try {
        await admin.connect()
        return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map(p => Number(p.high))
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(500)
      }
    }
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

t.test('a broker stopped and restarted under a running pipeline', async t => {
  // the shared broker is not used, but its absence says Kafka is not meant to run here
  if (!await kafka(t)) return
  const [port, controllerPort] = await brokerPorts()
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-broker-'))
  // no SASL or SSL listener: their ports (KAFKA_PORT + 2 and + 3) are not known to be free
  const brokerEnv = { KAFKA_HOME: home, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_KEEP_DATA: '1', KAFKA_SASL_PORT: '', KAFKA_SSL_PORT: '' }
  const broker = (command: 'start' | 'stop') => sh(`${BROKER_SH} ${command}`, { env: brokerEnv, timeout: 120_000, cwd: ROOT })
  const started: Pipeline[] = []
  // what the pipeline wrote and its state directory: kept when the test fails, for a look at them
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-broker-restart-'))
  const events: string[] = []
  const event = (what: string) => { events.push(`${new Date().toISOString()} ${what}`) }

  // the broker is stopped and its directory removed whatever happens, even if the test process ends abruptly
  /** Whether the broker of this test runs (broker.sh start also says yes when something else answers on the port). */
  const ours = () => {
    try { process.kill(Number(fs.readFileSync(path.join(home, 'pid'), 'utf8')), 0); return true } catch { return false }
  }
  const killBroker = () => {
    try { process.kill(Number(fs.readFileSync(path.join(home, 'pid'), 'utf8')), 'SIGKILL') } catch { /* not running */ }
    fs.rmSync(home, { recursive: true, force: true })
  }
  process.once('exit', killBroker)
  t.teardown(async () => {
    for (const p of started) p.signal('SIGKILL')
    await sh(`${BROKER_SH} stop`, { env: { ...brokerEnv, KAFKA_KEEP_DATA: '0' }, timeout: 60_000, cwd: ROOT })
    if (t.passing()) {
      fs.rmSync(work, { recursive: true, force: true })
    } else {
      for (const p of started) fs.writeFileSync(path.join(work, 'stderr.txt'), p.timed())
      fs.writeFileSync(path.join(work, 'events.txt'), events.join('\n') + '\n')
      try { fs.copyFileSync(path.join(home, 'broker.log'), path.join(work, 'broker.log')) } catch { /* none */ }
      t.comment(`kept for a look: ${work}`)
    }
    killBroker()
    process.removeListener('exit', killBroker)
  })

  const startedAt = Date.now()
  const up = await broker('start')
  t.equal(up.code, 0, `a second broker starts on 127.0.0.1:${port} (in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)\n${up.stdout}${up.stderr}`)
  if (up.code !== 0) return
  t.ok(ours(), 'and it is ours')
  const brokers = `127.0.0.1:${port}`

  const id = `${process.pid}-${Date.now()}`
  const topic = `broker-restart-${id}`
  const group = `broker-restart-g-${id}`
  const partitions = 2
  const admin = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()

  const before = Array.from({ length: 100 }, (_, i) => `before-${i}`)
  await produce(brokers, topic, before, partitions)
  t.same(await ends(brokers, topic), [50, 50], 'the topic holds the 100 messages once')

  const out = path.join(work, 'out')
  const p = pipeline(
    `dstream kafka --brokers ${brokers} --topic ${topic} --group ${group} --from earliest --session-timeout 6s | dstream save ${out}/b`,
    { DSTREAM_STATE_DIR: path.join(work, 'state') })
  started.push(p)
  t.ok(await pollFor(() => saved(out).length >= before.length || !p.running(), ok => ok, { ms: 60_000 }), `the messages produced before are saved\n${p.stderr()}`)
  t.equal(saved(out).length, before.length, 'each once')
  t.ok(p.running(), 'the pipeline runs')

  event('stopping the broker')
  const down = await broker('stop')
  event('broker stopped')
  t.equal(down.code, 0, `the broker is stopped\n${down.stdout}${down.stderr}`)
  const stoppedAt = Date.now()
  t.notOk(await pollFor(() => !p.running(), ok => ok, { ms: 10_000 }), `the pipeline still runs 10 s after the broker stopped\n${p.stderr()}`)
  // said by the batches ("cannot reach the brokers") or, when the group noticed first, by the group member
  // ("group G: Connection error: connect ECONNREFUSED ..."); either may take kafkajs's retries (20-30 s) to come
  const unreachable = new RegExp(`dstream kafka: (cannot reach the brokers|.*ECONNREFUSED 127\\.0\\.0\\.1:${port})`)
  await pollFor(() => unreachable.test(p.stderr()) || !p.running(), ok => ok, { ms: 45_000 })
  t.match(p.stderr(), unreachable, `the pipeline has said it cannot reach the brokers (${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop)`)
  t.ok(p.running(), 'and still runs')

  event('starting the broker')
  const again = await broker('start')
  event('broker started')
  t.equal(again.code, 0, `the broker starts again, on its data\n${again.stdout}${again.stderr}`)
  if (again.code !== 0) return
  t.ok(ours(), 'and it is ours')

  // a broker that has just started may not lead its partitions yet (UNKNOWN_TOPIC_OR_PARTITION)
  t.same(await retried(() => ends(brokers, topic)), [50, 50], 'the broker serves the topic again, its messages kept')
  const after = Array.from({ length: 100 }, (_, i) => `after-${i}`)
  await produce(brokers, topic, after, partitions)
  t.same(await ends(brokers, topic), [100, 100], 'and 100 more')
  const all = [...before, ...after]
  t.ok(await pollFor(() => saved(out).length >= all.length || !p.running(), ok => ok, { ms: 120_000 }), `the messages produced after the restart are saved\n${p.stderr()}`)

  event('stopping the pipeline')
  p.signal('SIGINT')
  const code = await within(p.closed, 60_000, 'still running')
  t.equal(code, 0, `the pipeline stops gracefully, exit 0\n${p.stderr()}`)

  const records = saved(out)
  const seen = new Map<string, number>()
  for (const v of records) seen.set(v, (seen.get(v) ?? 0) + 1)
  t.same([...seen].filter(([, n]) => n > 1).map(([v]) => v), [], 'no message was saved twice')
  t.same(all.filter(v => !seen.has(v)), [], 'no message was lost')
  t.same([...seen.keys()].filter(v => !all.includes(v)), [], 'nothing was saved that was not produced')
  t.equal(records.length, all.length, `${records.length} records saved, ${all.length} produced`)
})
