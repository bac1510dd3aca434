// The broker the Kafka tests run against (scripts/kafka/broker.sh): Apache Kafka
// 3.9 in KRaft mode on 127.0.0.1, single node. Checked here with kafkajs, the
// client dstream's kafka operators are built on: a topic of 4 partitions, a
// consumer group, and a transaction that read_committed consumers see whole.
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { kafka } from '../services.js'

t.test('a real broker: topics, consumer groups, transactions', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const client = new Kafka({ clientId: 'dstream-test', brokers: [brokers], logLevel: logLevel.NOTHING })
  const admin = client.admin()
  await admin.connect()
  const topic = `broker-test-${process.pid}-${Date.now()}`
  t.ok(await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true }), 'a topic of 4 partitions is created')
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  t.equal(meta.topics[0].partitions.length, 4)

  const producer = client.producer({ transactionalId: `tx-${topic}`, maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  const committed = await producer.transaction()
  await committed.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: String(i % 4), value: `m${i}` })) })
  await committed.commit()
  const aborted = await producer.transaction()
  await aborted.send({ topic, messages: [{ value: 'never' }] })
  await aborted.abort()
  await producer.disconnect()

  const consumer = client.consumer({ groupId: `g-${topic}`, readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} messages in 30 s`)), 30_000)
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString())
        if (seen.length === 20) { clearTimeout(timer); resolve() }
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  t.same(seen.sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort(), 'read_committed: the committed transaction whole, nothing of the aborted one')
  const offsets = await admin.fetchOffsets({ groupId: `g-${topic}`, topics: [topic] })
  t.equal(offsets[0].partitions.length, 4, 'the group has committed offsets for every partition')
  await admin.deleteTopics({ topics: [topic] })
  await admin.disconnect()
})
