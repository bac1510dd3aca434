// to-kafka against a real broker (scripts/kafka/broker.sh): each batch in one
// transaction with its batch time, read back with read_committed; a replayed batch
// is never written twice.
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { freshDir, runTable, runWords } from '../helpers.js'
import { kafka } from '../services.js'

async function topicOf (brokers: string, partitions = 1): Promise<string> {
  const admin = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  const topic = `to-kafka-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  return topic
}

/** Every committed message of the topic (read_committed), as [key, value, partition]. */
async function readAll (brokers: string, topic: string, expected: number): Promise<Array<[string | null, string | null, number]>> {
  const client = new Kafka({ clientId: 'test', brokers: [brokers], logLevel: logLevel.NOTHING })
  const consumer = client.consumer({ groupId: `reader-${topic}-${Math.random()}`, readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen: Array<[string | null, string | null, number]> = []
  await new Promise<void>(resolve => {
    // wait for `expected` messages, then a little longer for any that should not be there
    let timer = setTimeout(resolve, 15_000)
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        seen.push([message.key?.toString() ?? null, message.value?.toString() ?? null, partition])
        if (seen.length >= expected) { clearTimeout(timer); timer = setTimeout(resolve, 1500) }
      }
    })
  })
  await consumer.disconnect()
  return seen
}

t.test('batches into a topic, exactly once', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await topicOf(brokers)
  const state = freshDir()
  const words = ['to-kafka', '--brokers', brokers, '--topic', topic, '--key', '([w]) => w', '--value', '([, n]) => String(n)', '--state-dir', state]
  const first = await runTable(words, [[['a', 1], ['b', 2]], [], [['a', 3]]])
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, '', 'nothing on stdout without --pass')
  // the same batches again (a replay after a crash) and one more
  const again = await runTable(words, [[['a', 1], ['b', 2]], [], [['a', 3]], [['c', 4]]])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stderr, /batches up to 3000 are in .* already/, 'the replay is known from the transaction that committed batch 3000')
  const seen = await readAll(brokers, topic, 4)
  t.same(seen.map(([k, v]) => [k, v]), [['a', '1'], ['b', '2'], ['a', '3'], ['c', '4']], 'read_committed: every record once, in order')
})

t.test('values, keys and partitions', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const topic = await topicOf(brokers, 4)
  const ran = await runTable(['to-kafka', '--brokers', brokers, '--topic', topic, '--partition', '_.p', '--pass'], [[{ p: 3, s: 'x' }, { p: 1 }]])
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.records, [[{ p: 3, s: 'x' }, { p: 1 }]], '--pass forwards the batch')
  const plain = await runTable(['to-kafka', '--brokers', brokers, '--topic', topic, '--partition', '() => 0'], [['a line', 42]])
  t.equal(plain.code, 0, plain.stderr)
  const seen = await readAll(brokers, topic, 4)
  t.same(seen.sort((a, b) => a[2] - b[2] || String(a[1]).localeCompare(String(b[1]))), [
    [null, '42', 0], [null, 'a line', 0], [null, '{"p":1}', 1], [null, '{"p":3,"s":"x"}', 3]
  ], 'records as JSON unless strings, no key, in the partition --partition gave')
})

t.test('bad input', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const missing = await runTable(['to-kafka', '--brokers', brokers, '--topic', 'no-such-topic-dstream'], [['x']])
  t.equal(missing.code, 1, 'a topic that does not exist: exit 1')
  t.match(missing.stderr, /dstream to-kafka: at start .*the topic no-such-topic-dstream does not exist/)
  const topic = await topicOf(brokers)
  const threw = await runTable(['to-kafka', '--brokers', brokers, '--topic', topic, '--key', '_.k.toString()'], [[{ k: 1 }, {}]])
  t.equal(threw.code, 65, '--key throws: exit 65')
  t.match(threw.stderr, /dstream to-kafka: batch 1000: function threw TypeError/)
  const partition = await runTable(['to-kafka', '--brokers', brokers, '--topic', topic, '--partition', '"x"'], [[1]])
  t.equal(partition.code, 65, 'a partition that is not a number: exit 65')
  const none = await runWords(['to-kafka', '--topic', topic], '', { DSTREAM_KAFKA_BROKERS: '' })
  t.equal(none.code, 2, 'no brokers: exit 2')
  t.match(none.stderr, /no brokers: give --brokers host:port or set DSTREAM_KAFKA_BROKERS/)
  const nothing = await runTable(['to-kafka', '--brokers', brokers, '--topic', topic], [])
  t.equal(nothing.code, 0, 'no input: exit 0')
})
