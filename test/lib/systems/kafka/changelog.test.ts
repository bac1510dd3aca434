// State kept per input partition (lib/systems/kafka/changelog.ts), fed batch lines
// by hand as a kafka source writes them ("offsets", "kafka"), against the real
// broker that holds the changelog topics: a partition handed from one state
// directory to another goes on as if one instance had read it all, for each of the
// four stateful operators; ranges taken already are left out; a held partition that
// another instance read on is restored again; the refusals (a topic not keyed by
// the state key, several topics); and the changelog's own contents.
import t from 'tap'
import { freshDir, parseOutput, runWords } from '../../../helpers.js'
import { client, deleteTopics, readTopic, uniqueName } from '../../../kafkaHelpers.js'
import { kafka } from '../../../services.js'
import { partitionOfKey } from '../../../../lib/systems/kafka/partitioner.js'
import { changelogTopic } from '../../../../lib/systems/kafka/changelog.js'

const TOPIC = 'words'
const T0 = 1_800_000_000_000

interface Line { time: number, interval: number, offsets: Array<{ topic: string, partition: number, from: number, until: number }>, kafka: object, records: unknown[], group?: string }

/**
 * Batch lines of a 2-partition topic: each batch's records, each with the partition
 * its key goes to (`keyOf`), and the ranges that follow from where each partition is.
 */
function batches (brokers: string, group: string, records: unknown[][], keyOf: (record: unknown) => string, partitions = 2): Line[] {
  const at = Array.from({ length: partitions }, () => 0)
  return records.map((batch, i) => {
    const counts = Array.from({ length: partitions }, () => 0)
    for (const r of batch) counts[partitionOfKey(keyOf(r), partitions)]++
    const offsets = counts.map((n, partition) => ({ topic: TOPIC, partition, from: at[partition], until: (at[partition] += n) }))
    return { time: T0 + i * 1000, interval: 1000, offsets, kafka: { brokers, group, partitions: { [TOPIC]: partitions } }, records: batch }
  })
}

const text = (lines: object[]) => lines.map(l => JSON.stringify(l) + '\n').join('')

/** The topics made for a group's changelogs, removed after the test. */
async function changelogsOf (brokers: string, group: string): Promise<string[]> {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    return (await admin.listTopics()).filter(topic => topic.startsWith(`dstream-${group}-`))
  } finally {
    await admin.disconnect()
  }
}

const OPERATORS: Array<{ words: string[], records: unknown[][], keyOf: (r: unknown) => string }> = [
  { words: ['update-state-by-key', '(vs, s = 0) => s + vs.reduce((a, b) => a + b, 0)'], records: [[['a', 1], ['b', 2], ['c', 1]], [['a', 5], ['d', 1]], [['b', 1], ['c', 1], ['e', 3]], [], [['a', 1], ['e', 1]]], keyOf: r => (r as [string])[0] },
  { words: ['map-with-state', '(k, v, state) => { if (state.isTimingOut()) return [k, \'gone\']; const n = (state.get() ?? 0) + v; state.update(n); return [k, n] }', '--timeout', '2500ms'], records: [[['a', 1], ['b', 2], ['c', 1]], [['a', 5], ['d', 1]], [['b', 1], ['c', 1], ['e', 3]], [], [['a', 1], ['e', 1]]], keyOf: r => (r as [string])[0] },
  { words: ['reduce-by-key-and-window', 'sum', '--length', '3s'], records: [[['a', 1], ['b', 2], ['c', 1]], [['a', 5], ['d', 1]], [['b', 1], ['c', 1], ['e', 3]], [], [['a', 1], ['e', 1]]], keyOf: r => (r as [string])[0] },
  { words: ['reduce-by-key-and-window', '(a, b) => a + b', '--inverse', '(a, b) => a - b', '--length', '2s'], records: [[['a', 1], ['b', 2], ['c', 1]], [['a', 5], ['d', 1]], [['b', 1], ['c', 1], ['e', 3]], [], [['a', 1], ['e', 1]]], keyOf: r => (r as [string])[0] },
  { words: ['drop-duplicates'], records: [['a', 'b', 'c'], ['a', 'd', 'b'], ['e', 'c', 'f'], [], ['a', 'f', 'g']], keyOf: r => r as string },
  { words: ['drop-duplicates', '--within', '2s'], records: [['a', 'b', 'c'], ['a', 'd', 'b'], ['e', 'c', 'f'], [], ['a', 'f', 'g']], keyOf: r => r as string }
]

t.test('a partition handed from one state directory to another: the output is one instance\'s', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  for (const { words, records, keyOf } of OPERATORS) {
    const group = uniqueName('changelog')
    t.teardown(async () => deleteTopics(brokers, await changelogsOf(brokers, group)))
    const lines = batches(brokers, group, records, keyOf)
    const whole = await runWords(words, text(lines), { DSTREAM_STATE_DIR: freshDir() })
    t.equal(whole.code, 0, `${words.join(' ')}: one instance, exit 0`, { stderr: whole.stderr })
    // a fresh group for the handed-over run: the whole run's changelog is not to be read
    const group2 = uniqueName('changelog')
    t.teardown(async () => deleteTopics(brokers, await changelogsOf(brokers, group2)))
    const lines2 = batches(brokers, group2, records, keyOf)
    // A reads partitions 0 and 1 for two batches, then only 0; B (another state directory) takes 1 from then on
    const a = [...lines2.slice(0, 2), ...lines2.slice(2).map(l => ({ ...l, offsets: l.offsets.filter(r => r.partition === 0), records: l.records.filter(r => partitionOfKey(keyOf(r), 2) === 0) }))]
    const b = lines2.slice(2).map(l => ({ ...l, offsets: l.offsets.filter(r => r.partition === 1), records: l.records.filter(r => partitionOfKey(keyOf(r), 2) === 1) }))
    const ranA = await runWords(words, text(a), { DSTREAM_STATE_DIR: freshDir() })
    const ranB = await runWords(words, text(b), { DSTREAM_STATE_DIR: freshDir() })
    t.equal(ranA.code + ranB.code, 0, `${words.join(' ')}: A and B, exit 0`, { stderr: ranA.stderr + ranB.stderr })
    t.match(ranB.stderr, /the state of words\/1 restored from dstream-changelog-/, `${words.join(' ')}: B restores partition 1 from the changelog`)
    const one = parseOutput(whole.stdout).batches
    const [byA, byB] = [parseOutput(ranA.stdout).batches, parseOutput(ranB.stdout).batches]
    const sorted = (xs: unknown[]) => xs.map(x => JSON.stringify(x)).sort()
    for (let i = 2; i < records.length; i++) {
      const split = [...(byA.find(x => x.time === one[i].time)?.records ?? []), ...(byB.find(x => x.time === one[i].time)?.records ?? [])]
      t.same(sorted(split), sorted(one[i].records), `${words.join(' ')}: batch ${i}: A's and B's outputs together are one instance's`)
    }
  }
})

t.test('ranges the state has taken are left out; a held partition another instance read on is restored again', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const group = uniqueName('changelog')
  t.teardown(async () => deleteTopics(brokers, await changelogsOf(brokers, group)))
  const words = ['update-state-by-key', '(vs, s = 0) => s + vs.length']
  const line = (i: number, from: number, until: number) => ({ time: T0 + i * 1000, interval: 1000, offsets: [{ topic: TOPIC, partition: 0, from, until }], kafka: { brokers, group, partitions: { [TOPIC]: 1 } }, records: Array.from({ length: until - from }, () => ['k', 1]) })
  const a = freshDir()
  const b = freshDir()
  const last = (stdout: string) => parseOutput(stdout).batches.at(-1)?.records
  let ran = await runWords(words, text([line(0, 0, 2)]), { DSTREAM_STATE_DIR: a })
  t.same(last(ran.stdout), [['k', 2]], 'A: k counted twice')
  // B is handed the same range again (a replay after another instance went on): restored, not counted again
  ran = await runWords(words, text([line(0, 0, 2), line(1, 2, 3)]), { DSTREAM_STATE_DIR: b })
  t.same(parseOutput(ran.stdout).batches.map(x => x.records), [[['k', 2]], [['k', 3]]], 'B: the range taken already is left out; the next is counted')
  // A held the partition up to offset 2; B read on to 3: A's state is restored again before its batch from 3
  ran = await runWords(words, text([line(2, 3, 5)]), { DSTREAM_STATE_DIR: a })
  t.same(last(ran.stdout), [['k', 5]], 'A: its held state was behind, restored from the changelog, then counted on')
  t.match(ran.stderr, /the state of words\/0 is behind .*: dropped/, 'A says why it restores')
  const [topic] = await changelogsOf(brokers, group)
  t.equal(topic, changelogTopic(group, topic.slice(`dstream-${group}-`.length, -'-changelog'.length)), 'the changelog topic is dstream-GROUP-NAME-changelog')
  const log = await readTopic(brokers, topic)
  t.same(log.filter(m => m.key === 'k').map(m => m.value), ['["k",2]', '["k",3]', '["k",5]'], 'the changelog holds each new state of k')
  t.same(log.filter(m => m.key === '\u0000upTo').map(m => JSON.parse(m.value!).offset), [2, 3, 5], 'and after each, the input offset the state has taken')
})

t.test('to-kafka the only sink: the changes ride on the batch line; other sinks: the operator writes them', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const group = uniqueName('changelog')
  t.teardown(async () => deleteTopics(brokers, await changelogsOf(brokers, group)))
  const [one] = batches(brokers, group, [[['a', 1], ['b', 1]]], r => (r as [string])[0])
  const viaSink = await runWords(['update-state-by-key', '(vs, s = 0) => s + vs.length'], text([{ ...one, group }]), { DSTREAM_STATE_DIR: freshDir() })
  const [out] = viaSink.stdout.split('\n').map(l => l && JSON.parse(l))
  t.ok(Array.isArray(out.changelog) && out.changelog[0].messages.some((m: { key: string }) => m.key === 'a'), 'with "group" (to-kafka commits): the batch line carries the changes')
  const topics = await changelogsOf(brokers, group)
  t.equal(topics.length, 1, 'the changelog topic is made all the same')
  const itself = await runWords(['update-state-by-key', '(vs, s = 0) => s + vs.length'], text([one]), { DSTREAM_STATE_DIR: freshDir() })
  t.notMatch(itself.stdout, /"changelog"/, 'without: the line carries nothing more')
  t.same((await readTopic(brokers, topics[0])).filter(m => !m.key!.startsWith('\u0000')).map(m => m.key).sort(), ['a', 'b'], 'and the operator wrote the changes to the changelog')
})

t.test('refusals: a key of a partition this instance does not read; several topics', async t => {
  const brokers = await kafka(t)
  if (!brokers) return
  const group = uniqueName('changelog')
  t.teardown(async () => deleteTopics(brokers, await changelogsOf(brokers, group)))
  const key = ['a', 'b', 'c', 'd', 'e'].find(k => partitionOfKey(k, 2) === 1)!
  const foreign = { time: T0, interval: 1000, offsets: [{ topic: TOPIC, partition: 0, from: 0, until: 1 }], kafka: { brokers, group, partitions: { [TOPIC]: 2 } }, records: [[key, 1]] }
  let ran = await runWords(['update-state-by-key', '(vs, s = 0) => s + vs.length'], text([foreign]), { DSTREAM_STATE_DIR: freshDir() })
  t.equal(ran.code, 1, 'exit 1')
  t.match(ran.stderr, new RegExp(`batch ${T0}: the key "${key}" belongs to partition 1 of words .* which this instance does not read \\(0\\): .*keyed by the state key`), 'names the batch, the key, its partition and the rule')
  ran = await runWords(['update-state-by-key', '(vs, s = 0) => s + vs.length'], text([{ ...foreign, kafka: { brokers, group, partitions: { a: 1, b: 1 } }, records: [] }]), { DSTREAM_STATE_DIR: freshDir() })
  t.equal(ran.code, 1, 'several topics: exit 1')
  t.match(ran.stderr, /reads 2 topics \(a, b\); state kept per input partition needs one/, 'says why')
  ran = await runWords(['update-state-by-key', '(vs, s = 0) => s + vs.length', '--partitions', '2'], text([{ ...foreign, records: [] }]), { DSTREAM_STATE_DIR: freshDir() })
  t.equal(ran.code, 1, '--partitions 2: exit 1')
  t.match(ran.stderr, new RegExp(`update-state-by-key: batch ${T0}: from a kafka source, the state is kept per input partition .* which --partitions 2 does not do`), 'says why')
})
