// Spark: KafkaUtils.createDirectStream. The batches and their offset ranges are
// lib/systems/kafka/batches.ts, the reading of ranges lib/systems/kafka/reader.ts, the group's
// partitions lib/systems/kafka/group.ts, where offsets are kept lib/systems/kafka/offsetStore.ts; this
// file is the command line and the wiring.
import type { IHeaders, KafkaMessage } from 'kafkajs'
import { Component } from '../lib/durability/component.js'
import { parseDuration } from '../lib/core/durations.js'
import { DstreamError, RuntimeError, usage } from '../lib/core/errors.js'
import { BROKERS_OPTION, connectionProblem, kafkaClient } from '../lib/systems/kafka/client.js'
import { KafkaBatches } from '../lib/systems/kafka/batches.js'
import type { GroupMember } from '../lib/systems/kafka/group.js'
import { RangeReader } from '../lib/systems/kafka/reader.js'
import { offsetStore, tpKey, type Offsets } from '../lib/systems/kafka/offsetStore.js'
import { batchSize } from '../lib/intake/batching.js'
import { CHUNK_OPTION, INTERVAL_OPTION } from '../lib/intake/options.js'
import { progressBar, type Progress } from '../lib/intake/progress.js'
import type { Context, SourceDefinition } from '../lib/core/types.js'

/**
 * A plain run's bar over its backlog at start appears only when reading it takes
 * longer than this: a run started far behind. One a moment behind (restarted after a
 * few seconds) reads its backlog with its first batch, and a bar would be noise
 * among the messages and output of a stream that goes on for days.
 */
const CATCH_UP_BAR_AFTER = 1000

interface KafkaOptions {
  brokers?: string
  topic: string[]
  group: string
  interval?: string
  maxRatePerPartition?: number
  from: string
  json: boolean
  withMeta: boolean
  chunk: number
  offsetsStore?: string
  sessionTimeout: string
  waitForTopic: boolean
  once: boolean
}

const kafka: SourceDefinition<KafkaOptions> = {
  kind: 'source',
  name: 'kafka',
  spark: 'KafkaUtils.createDirectStream',
  group: 'sources',
  summary: 'records of Kafka topics, batch by batch with their offset ranges; replayable',
  description: `
Reads the topics --topic as a member of the consumer group --group, Spark's direct
approach: at each batch time the source asks for the end offsets of its partitions
(the last stable offsets: records of open transactions wait, aborted ones are never
read), and the batch holds every partition's records from where it was up to that
end, at most --max-rate-per-partition records per partition per second of interval
(Spark's maxRatePerPartition). A record is the message value as a string (null for
a tombstone); --json parses it, and a value that is not JSON is bad input (exit 65,
or with --on-bad-input skip the dead-letter file gets {topic, partition, offset,
value}); --with-meta makes every record {topic, partition, offset, key, value,
timestamp, headers}. Records are in the order of topic, partition and offset. Each
batch's last line carries its offset ranges, Spark's HasOffsetRanges:
"offsets":[{"topic":"T","partition":0,"from":10,"until":25}], one per partition
this instance reads (empty ones too); and every line says where it comes from:
"kafka":{"brokers":"...","group":"G","partitions":{"T":6}}, which the stateful
operators after it use to keep their state per input partition (see
update-state-by-key). Once a message is not where Kafka's default partitioner puts
its key (no key, or a partition chosen otherwise), the lines say "keyed":false: the
topic is not keyed, and those operators keep their state per instance (and say so).

The ranges are logged in the state directory (DIR/NAME/log.ndjson, synced) before
the batch is emitted, and the offsets are committed to the group only once the
pipeline's sinks (save, foreach, to-kafka ...) have committed the batch, so
kafka-consumer-groups --describe shows the true lag. Killed and started again, the
source emits again the batches the sinks had not committed, with the same times and
ranges, then goes on: nothing lost, nothing twice. On a graceful stop (SIGINT,
SIGTERM) the open batch is emitted, and the source waits up to 30 s for the sinks to
commit before it commits and exits. A group with no committed offsets starts at
--from: the earliest offsets or the latest (Spark's auto.offset.reset; the default).
--offsets-store redis://HOST:PORT/DB keeps the offsets in Redis instead, in the
hash dstream:offsets:GROUP:TOPIC (partition -> next offset), and not in the group.

When to-kafka is the pipeline's only sink (and the offsets are the group's), the
source does not commit them itself: it names the group on each batch line
("group":"G"), and to-kafka commits the ends of the batch's ranges as the group's
offsets in the same transaction as the batch's records (Kafka Streams' way). The
output and the group's offsets then move together.

Several instances of one pipeline (each with its own state directory, on one
machine or several) may read one group: the partitions are shared among them round
robin, and on a rebalance the group waits (up to half the session timeout) until
the batches each instance has in flight are committed before any partition changes
hands, so together they read every record once. A member that has not been heard
from for --session-timeout is dropped from the group, and its partitions go to the
others from the group's offsets. An instance killed outright (kill -9) leaves
nothing to be read twice when to-kafka is the only sink: what it had not committed
is in no transaction that counts, and started again it replays the batches
to-kafka had committed as they were (to bring the stateful operators between up to
date; the sink skips them) and the others empty: their records are read again from
the group's offsets by whoever has their partitions. With other sinks (save, to-sql,
several sinks) the source commits after all of them, and a killed instance's
batches emitted but not committed are read again, by the others and by itself when
it is started again: at least once, not exactly once, for those.

Brokers come from --brokers or $DSTREAM_KAFKA_BROKERS; SASL and TLS from
$DSTREAM_KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512),
$DSTREAM_KAFKA_USERNAME, $DSTREAM_KAFKA_PASSWORD and DSTREAM_KAFKA_SSL=1 (brokers
whose certificate a private CA signed: NODE_EXTRA_CA_CERTS=FILE, FILE holding the
CA's certificate). Credentials the brokers refuse exit 1 at once. Brokers that
cannot be reached at start are tried for about half a minute, then kafka exits 1
naming them. Once running, it never gives up:
while the brokers are down it says so, its batches stay empty (no end offsets can
be seen) or wait for their records, and it goes on when they are back. A topic that
does not exist exits 1, unless --wait-for-topic, which waits for it.

A batch goes out in chunks (--chunk) as its records come, so a large one (the
backlog of a group that starts --from earliest on a long topic, or of a pipeline
stopped for a long time) is never held whole: the source keeps some 20,000 records
per partition read ahead. The stages that need whole batches (reduce-by-key,
windows, state) still hold what they keep of one; --max-rate-per-partition bounds
the size of a batch, as with Spark. Bad input in the middle of a batch (exit 65)
leaves the chunks of it already sent without their last one, and every stage drops
such an unfinished batch.

--once reads up to the end offsets the partitions have at start, then stops (cron).
With stderr a terminal, a progress bar shows the records read of those between where
the partitions start and those end offsets. A plain run shows one over its backlog
at start (the records up to the end offsets its partitions have when it gets them)
only when it is still catching up after a second: a run started far behind. That bar
ends once the backlog is read; the live stream after it has none (its lag is the
group's: kafka-consumer-groups --describe). The batches replayed after a restart
have a bar too, over their records. Nothing is drawn when stderr is not a terminal.

Kafka 4 brokers are not supported (kafkajs's consumer groups do not work with them);
use Kafka 3.x.`,
  positionals: [],
  options: {
    // where the brokers are is not what the source computes: it may change across restarts
    brokers: { ...BROKERS_OPTION.brokers, runOnly: true },
    topic: { type: 'string', array: true, meta: 'T', demandOption: true, describe: 'a topic to read (give --topic again for more)' },
    group: { type: 'string', meta: 'G', demandOption: true, describe: 'the consumer group' },
    ...INTERVAL_OPTION,
    'max-rate-per-partition': { type: 'number', meta: 'N', runOnly: true, describe: 'at most N records per partition per second of interval' },
    from: { type: 'string', choices: ['earliest', 'latest'], default: 'latest', meta: 'earliest|latest', runOnly: true, describe: 'where a group with no committed offsets starts' },
    json: { type: 'boolean', default: false, describe: 'parse each value as JSON; a value that does not parse is bad input' },
    'with-meta': { type: 'boolean', default: false, describe: 'records {topic, partition, offset, key, value, timestamp, headers}' },
    ...CHUNK_OPTION,
    'offsets-store': { type: 'string', meta: 'URL', secret: true, describe: 'keep the offsets in Redis (redis://HOST:PORT/DB) rather than in the group' },
    'session-timeout': { type: 'string', meta: 'DUR', default: '10s', runOnly: true, describe: 'how long the group waits for a silent member (6s to 5m)' },
    'wait-for-topic': { type: 'boolean', default: false, runOnly: true, describe: 'wait for a topic that does not exist yet' },
    once: { type: 'boolean', default: false, runOnly: true, describe: 'read up to the end offsets at start, then exit' }
  },
  examples: [
    { command: "kafka --brokers localhost:9092 --topic lines --group wc | dstream flat-map '_.split(\" \")' | dstream map 'w => [w, 1]' | dstream reduce-by-key sum | dstream to-kafka --topic counts --key '([w]) => w' --value '([, n]) => String(n)'", describe: 'the word count from one topic into another, exactly once' },
    { command: 'kafka --topic events --group audit --json --with-meta --max-rate-per-partition 1000 --from earliest | dstream save out/events', describe: 'brokers from $DSTREAM_KAFKA_BROKERS; a new group from the start, 1000 records per partition per second at most' },
    { command: 'kafka --topic clicks --group stats --offsets-store redis://127.0.0.1:6379/0 | dstream count | dstream print', describe: 'offsets kept in a Redis hash per topic' }
  ],
  async start (opts, ctx, io) {
    // the bar drawn now (the replay's, the backlog's), if any: what is said goes above it
    let bar: Progress | undefined
    const say = (text: string) => bar ? bar.say(`dstream kafka: ${text}\n`) : ctx.stderr(`dstream kafka: ${text}\n`)
    const topics = [...new Set(opts.topic)]
    const { interval } = batchSize(opts, kafka)
    let sessionTimeout: number
    try {
      sessionTimeout = parseDuration(opts.sessionTimeout, 'session-timeout')
    } catch (err) {
      throw usage(kafka, (err as Error).message)
    }
    const maxRate = opts.maxRatePerPartition
    if (maxRate !== undefined && !(maxRate > 0 && maxRate * interval / 1000 >= 1)) throw usage(kafka, `--max-rate-per-partition must let at least one record per partition into a batch, got ${maxRate} per second for ${interval}ms batches`)
    const component = Component.of(kafka, opts, 'source')
    component.prepare()

    const client = await kafkaClient(kafka.name, opts.brokers)
    const admin = client.admin()
    const brokers = opts.brokers ?? process.env.DSTREAM_KAFKA_BROKERS
    try {
      await admin.connect()
      await topicsExist(topics, () => admin.listTopics(), opts.waitForTopic, say)
    } catch (err) {
      await admin.disconnect().catch(() => {})
      if (err instanceof RuntimeError) throw err
      throw new RuntimeError(`dstream kafka: cannot reach the brokers ${brokers}: ${connectionProblem(err)}`)
    }
    // what still needs the brokers at start: a failure here names them and exits 1
    const atStart = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call()
      } catch (err) {
        if (err instanceof DstreamError) throw err
        throw new RuntimeError(`dstream kafka: cannot start with the brokers ${brokers}: ${connectionProblem(err)}`)
      }
    }
    const store = await offsetStore(kafka.name, opts.offsetsStore, client, admin, opts.group, ctx.stateDir, say)
    const reader = await atStart(() => RangeReader.start(client, topics, say, opts.group))
    const once = opts.once ? await atStart(() => endsNow(admin, topics)) : undefined
    const partitions = await atStart(() => partitionCounts(admin, topics))
    const batches = new KafkaBatches(component, admin, reader, store, {
      topics,
      interval,
      chunk: opts.chunk,
      maxRate,
      from: opts.from as 'earliest' | 'latest',
      // offsets kept in the group: a to-kafka sink, the only one, commits them with its batches
      group: opts.offsetsStore === undefined ? opts.group : undefined,
      origin: { brokers: brokers!, group: opts.group, partitions },
      until: once,
      record: recordOf(opts, ctx),
      emit: chunk => io.emit(chunk),
      say,
      // the backlog's bar: at once with --once (it is all the run reads), else only far behind
      progress: (work, total) => (bar = progressBar(ctx, { unit: 'records', total, after: work === 'backlog' && !opts.once ? CATCH_UP_BAR_AFTER : 0 }))
    })
    io.lag(() => {
      const records = batches.behind()
      return records === undefined ? undefined : { records }
    })
    let member: GroupMember | undefined
    // the handle is returned at once: a stop must reach the source even while it
    // waits for an offset store that does not answer
    const run = async () => {
      if (!await batches.recover()) return // stopped first
      // the group's protocol needs kafkajs's values: loaded with it, here
      const { GroupMember } = await import('../lib/systems/kafka/group.js')
      member = await atStart(() => GroupMember.join({
        kafka: client,
        group: opts.group,
        topics,
        sessionTimeout,
        store,
        inFlight: () => batches.inFlight(),
        revoked: () => batches.revoke(),
        assigned: partitions => { batches.assign(partitions).catch(err => say(`taking the partitions: ${(err as Error).message}`)) },
        say
      }))
      batches.start()
      await batches.done
    }
    return {
      // a run that fails leaves the group at once if it has nothing in flight, so that
      // the run after it need not wait a session timeout for the group to forget it
      done: run().catch(async err => {
        await batches.settle(0)
        if (batches.inFlight().size === 0) await member?.leave()
        throw err
      }),
      stop: () => batches.stop(),
      async settle () {
        // the group is left only once the batches emitted are committed: a member
        // that left would not be waited for, and its partitions' next owner would
        // read its batches in flight again
        await batches.settle()
        await member?.leave()
        await Promise.all([reader.stop(), store.close(), admin.disconnect().catch(() => {})])
      }
    }
  }
}

/** Each topic is there, or waited for (--wait-for-topic), or the source exits 1. */
async function topicsExist (topics: string[], list: () => Promise<string[]>, wait: boolean, say: (text: string) => void): Promise<void> {
  for (let said = false; ; said = true) {
    const known = new Set(await list())
    const missing = topics.filter(t => !known.has(t))
    if (missing.length === 0) return
    if (!wait) throw new RuntimeError(`dstream kafka: no topic ${missing.join(', ')} on the brokers (create it, or give --wait-for-topic to wait for it)`)
    if (!said) say(`waiting for the topic ${missing.join(', ')} to be created`)
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
}

/** --once: the end offset of every partition now. */
async function endsNow (admin: import('kafkajs').Admin, topics: string[]): Promise<Offsets> {
  const ends: Offsets = new Map()
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.set(tpKey(topic, p.partition), Number(p.high))
  return ends
}

/** How many partitions each topic has. */
async function partitionCounts (admin: import('kafkajs').Admin, topics: string[]): Promise<Record<string, number>> {
  const { topics: found } = await admin.fetchTopicMetadata({ topics })
  return Object.fromEntries(found.map(t => [t.name, t.partitions.length]))
}

/** A message as a record: its value (parsed with --json), or with --with-meta all of it. */
function recordOf (opts: KafkaOptions, ctx: Context) {
  return (topic: string, partition: number, message: KafkaMessage, time: number): unknown => {
    let value: unknown = message.value === null ? null : message.value.toString()
    if (opts.json && value !== null) {
      try {
        value = JSON.parse(value as string)
      } catch (err) {
        ctx.badRecord({ topic, partition, offset: Number(message.offset), value }, `not JSON (${(err as Error).message})`, time)
        return undefined
      }
    }
    if (!opts.withMeta) return value
    return { topic, partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value, timestamp: Number(message.timestamp), headers: headersOf(message.headers) }
  }
}

function headersOf (headers: IHeaders | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    out[name] = Array.isArray(value) ? value.map(v => v.toString()) : value.toString()
  }
  return out
}

export default kafka
