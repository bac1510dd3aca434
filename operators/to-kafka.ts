// Spark: foreachRDD with a Kafka producer, made exactly-once. Each batch is written
// in one Kafka transaction, and the same transaction commits the batch's time as
// the offset of a consumer group of the sink's own (dstream-to-kafka.NAME.TAG), so the
// records and "batch T is written" become visible together or not at all. Started
// again, the sink reads that time and skips what it had written: a replayed batch
// never lands twice, and read_committed readers see every record once. The
// transactional id is the sink's too, so a producer left from a killed run is fenced.
import type { Producer } from 'kafkajs'
import { nameOf } from '../lib/durability/component.js'
import { RuntimeError } from '../lib/core/errors.js'
import { compileFunction } from '../lib/core/functions.js'
import { BROKERS_OPTION, connectionProblem, instanceTag, kafkaClient } from '../lib/systems/kafka/client.js'
import { markerGroup, readMarker } from '../lib/systems/kafka/marker.js'
import { changelogOf } from '../lib/systems/kafka/changelog.js'
import { sourceOffsets } from '../lib/systems/kafka/offsetStore.js'
import { plainText } from '../lib/ops/show.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

/** Messages per send within a batch's transaction. */
const SEND_SIZE = 1000

interface ToKafkaOptions { brokers?: string, topic: string, key?: string, value?: string, partition?: string, pass: boolean }

const toKafka: OperatorDefinition<ToKafkaOptions> = {
  kind: 'operator',
  name: 'to-kafka',
  spark: 'foreachRDD + a Kafka producer',
  group: 'outputs',
  summary: 'every batch into a Kafka topic, in one transaction, exactly once',
  description: `
Writes the records of every batch to the topic --topic, each batch in one Kafka
transaction. A record's value is --value FN of it, else the record itself: strings
as they are, other values as JSON; its key is --key FN (none without it); its
partition is --partition FN, else Kafka's partitioner (by key).

The transaction also commits the batch time, as the offset of partition 0 of the
topic in a consumer group of the sink's own, dstream-to-kafka.NAME.TAG (NAME as in
the state directory, TAG a hash of the host and the state directory, so that the same
pipeline run on several machines, sharing the partitions of a kafka source, keeps
one such group per machine). Started again, to-kafka reads it and skips every batch up to it,
so that after a crash the batches the pipeline replays are written once:
consumers with isolation.level=read_committed see every record exactly once. The
transactional id is dstream-NAME.TAG, so a producer left over from a killed run is
fenced off. The topic must exist.

When to-kafka is the only sink of a pipeline that reads a kafka source, the source
leaves the commit of its offsets to it: the batch line names the source's group
("group":"G") beside its offset ranges, and the same transaction commits the ends of
those ranges as the group's offsets (Kafka Streams' way). The output and the
group's offsets then move together, so several instances of the pipeline sharing
the group read every record once into the topic even when one is killed outright
(see the kafka source). The stateful operators between keep their state per input
partition then, and their changes to it ride on the batch line too ("changelog"):
to-kafka writes them to their changelog topics in the same transaction, so state,
output and offsets move together.

Brokers come from --brokers or $DSTREAM_KAFKA_BROKERS; SASL and TLS from
$DSTREAM_KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512),
$DSTREAM_KAFKA_USERNAME, $DSTREAM_KAFKA_PASSWORD and DSTREAM_KAFKA_SSL=1 (a private
CA: NODE_EXTRA_CA_CERTS=FILE); credentials the brokers refuse exit 1 at once. A broker
that cannot be reached is retried with backoff for about half a minute, then
to-kafka stops with exit 1 naming the batch; so does a topic that does not exist.

Writes nothing on stdout unless --pass, which forwards the batches unchanged.`,
  positionals: [],
  options: {
    ...BROKERS_OPTION,
    topic: { type: 'string', meta: 'T', demandOption: true, describe: 'the topic to write to' },
    key: { type: 'string', meta: 'FN', describe: "each record's key (a string; null for none)" },
    value: { type: 'string', meta: 'FN', describe: "each record's value (default: the record: strings bare, others as JSON)" },
    partition: { type: 'string', meta: 'FN', describe: "each record's partition number (default: by key)" },
    pass: { type: 'boolean', default: false, describe: 'forward the batches on stdout' }
  },
  examples: [
    { command: "to-kafka --brokers localhost:9092 --topic wordcounts --key '([w]) => w' --value '([, n]) => String(n)'", describe: 'word counts into a topic, keyed by word' },
    { command: 'to-kafka --topic events --pass | dstream print', describe: 'brokers from $DSTREAM_KAFKA_BROKERS; the batches go on to print' }
  ],
  input: 'batches',
  sink: true,
  async init (opts, ctx) {
    const name = nameOf(toKafka, opts)
    const tag = instanceTag(ctx.stateDir)
    const group = markerGroup(name, ctx.stateDir)
    const fn = (source: string | undefined, what: string) => source === undefined ? undefined : ctx.guard(compileFunction(source, ctx.scope, what))
    const key = fn(opts.key, '--key')
    const value = fn(opts.value, '--value')
    const partition = fn(opts.partition, '--partition')
    const kafka = await kafkaClient(toKafka.name, opts.brokers)
    const admin = kafka.admin()
    let producer: Producer | undefined
    const failed = (what: string, err: unknown) => new RuntimeError(`dstream to-kafka: ${what}: ${connectionProblem(err)}`)

    // what an earlier run wrote for good: the batch time committed with its last transaction
    let written = -Infinity
    try {
      await admin.connect()
      const topics = await admin.listTopics()
      if (!topics.includes(opts.topic)) throw new Error(`the topic ${opts.topic} does not exist`)
      written = await readMarker(admin, group)
      producer = kafka.producer({ transactionalId: `dstream-${name}.${tag}`, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
    } catch (err) {
      await admin.disconnect().catch(() => {})
      throw failed(`at start (brokers ${opts.brokers ?? process.env.DSTREAM_KAFKA_BROKERS})`, err)
    }
    await admin.disconnect()
    if (written > -Infinity) ctx.stderr(`dstream to-kafka: batches up to ${written} are in ${opts.topic} already (group ${group}); those that come again are skipped\n`)

    const message = (record: unknown) => {
      const v = value ? value(record) : record
      if (v === SKIP) return undefined
      const m: { value: string | null, key?: string | null, partition?: number } = { value: v === null ? null : typeof v === 'string' ? v : plainText(v) }
      if (key) {
        const k = key(record)
        if (k === SKIP) return undefined
        m.key = k === null || k === undefined ? null : String(k)
      }
      if (partition) {
        const p = partition(record)
        if (p === SKIP) return undefined
        if (!Number.isInteger(p)) { ctx.badRecord(record, `--partition gave ${JSON.stringify(p)}, not a partition number`); return undefined }
        m.partition = p as number
      }
      return m
    }

    return {
      passes: opts.pass,
      async onBatch (records, batch) {
        if (batch.time <= written) return opts.pass ? records : undefined
        const source = sourceOffsets(batch.extra)
        const changelog = changelogOf(batch.extra)
        const messages = []
        for (const record of records) {
          const m = message(record)
          if (m) messages.push(m)
        }
        // the coordinator may still be finishing the last transaction (CONCURRENT_TRANSACTIONS):
        // such retriable failures abort this one and try it again, a little later each time
        for (let attempt = 0; ; attempt++) {
          const transaction = await producer!.transaction()
          try {
            // in sends of SEND_SIZE: one send of a whole batch would cost kafkajs time
            // quadratic in its size, and could exceed the broker's largest request
            for (let i = 0; i < messages.length; i += SEND_SIZE) await transaction.send({ topic: opts.topic, messages: messages.slice(i, i + SEND_SIZE) })
            // the changes of the state kept per input partition by the stateful operators before it
            for (const { topic, messages } of changelog) {
              for (let i = 0; i < messages.length; i += SEND_SIZE) await transaction.send({ topic, messages: messages.slice(i, i + SEND_SIZE) })
            }
            await transaction.sendOffsets({ consumerGroupId: group, topics: [{ topic: opts.topic, partitions: [{ partition: 0, offset: String(batch.time) }] }] })
            // the kafka source's offsets, when it left their commit to this sink (its only one)
            if (source) await transaction.sendOffsets(source)
            await transaction.commit()
            break
          } catch (err) {
            await transaction.abort().catch(() => {})
            if (!(err as any).retriable || attempt >= 8) throw failed(`batch ${batch.time}: cannot write ${messages.length} records to ${opts.topic}`, err)
            await new Promise(resolve => setTimeout(resolve, 50 * 2 ** attempt))
          }
        }
        written = batch.time
        return opts.pass ? records : undefined
      },
      async onEnd () { await producer?.disconnect() },
      async onAbort () { await producer?.disconnect().catch(() => {}) }
    }
  }
}

export default toKafka
