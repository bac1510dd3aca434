// bench/scaleout: records per second of one pipeline run by 1, 2 and 3 instances in
// one consumer group (each instance its own state directory and processes, as on
// separate machines), on this machine, against the real broker of
// scripts/kafka/broker.sh. The 1-instance run is the baseline of the ratios, in the
// same run of the bench.
//   npm run bench:scaleout                  (3,000,000 records)
//   RECORDS=1000000 npm run bench:scaleout  (or: node dist/bench/scaleout.js 1000000)
// Other knobs: KAFKA_BROKERS (127.0.0.1:19092), PARTITIONS (6), WORDS (10,000 keys),
// INSTANCES (1,2,3), PIPELINES (some of stateless,wordcount), RUN_TIMEOUT (seconds, 600),
// SOURCE_ARGS (more words for `dstream kafka`; default "--max-rate-per-partition 100000",
// so that a batch holds at most 600,000 records: a stream, not one batch of the lot),
// RESTORE_KEYS (1,000,000; 0: no restore figure).
//
// The input: RECORDS words keyed by themselves (Kafka's default partitioner: a word's
// records in one partition, as the state per input partition wants), produced once,
// before the runs. Each run reads it all with a fresh group (--from earliest), into
// a fresh output topic, exactly once (to-kafka the only sink commits the offsets):
//   stateless   kafka | map 'w => w.toUpperCase()' | to-kafka
//   wordcount   kafka | map 'w => [w, 1]' | update-state-by-key (changelog topic) | to-kafka
// The instances are started together; the group takes a few seconds to share the
// partitions among them (each joiner makes the others finish their batches in flight
// and join again), during which the first ones read on. So the rate is taken from
// the moment every instance reads its share ("shared": the partitions split among
// all of them) to the moment the group's lag is 0 (every offset committed with its
// output): the records the group was behind then, over that time. "from start" is
// all the records over the whole run, joins included. The CPU seconds are those of
// every instance's processes (the broker's not counted).
//
// Then what a partition's move costs: a changelog partition of RESTORE_KEYS keys (one
// message each, as compaction leaves it) read back by update-state-by-key when it is
// given the partition (its own figure: keys, messages and milliseconds on stderr).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, Partitioners, logLevel } from 'kafkajs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const DSTREAM = path.join(ROOT, 'bin', 'dstream')
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'
const RECORDS = Number(process.argv[2] ?? process.env.RECORDS ?? 3_000_000)
const PARTITIONS = Number(process.env.PARTITIONS ?? 6)
const WORDS = Number(process.env.WORDS ?? 10_000)
const INSTANCES = (process.env.INSTANCES ?? '1,2,3').split(',').map(Number)
const PIPELINES = (process.env.PIPELINES ?? 'stateless,wordcount').split(',')
const RUN_TIMEOUT = Number(process.env.RUN_TIMEOUT ?? 600) * 1000
const SOURCE_ARGS = process.env.SOURCE_ARGS ?? '--max-rate-per-partition 100000'

const kafka = new Kafka({ clientId: 'bench-scaleout', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING })
const admin = kafka.admin()
const stamp = `${process.pid}-${Date.now()}`
const made: string[] = []
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function topic (name: string, partitions: number): Promise<string> {
  await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true })
  made.push(name)
  return name
}

/** RECORDS words, w0 .. w(WORDS-1), skewed (some often, most rarely), keyed by themselves. */
async function fill (input: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  let seed = 1
  const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  for (let sent = 0; sent < RECORDS;) {
    const n = Math.min(20_000, RECORDS - sent)
    const messages = Array.from({ length: n }, () => { const w = `w${Math.floor(WORDS * next() ** 2)}`; return { key: w, value: w } })
    await producer.send({ topic: input, acks: 1, messages })
    sent += n
  }
  await producer.disconnect()
}

async function lag (group: string, input: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(input)
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [input] })
  let behind = 0
  for (const { partition, high } of ends) behind += Number(high) - Math.max(0, Number(committed?.partitions.find(p => p.partition === partition)?.offset ?? 0))
  return behind
}

/** CPU seconds (user + system) of a process and its children, from /proc, while they run. */
function cpuOf (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch { /* gone */ }
  }
  return ticks / 100
}

/** The pids of a pipeline's commands: bash's children. */
function childrenOf (pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

interface Run { rate: number, overall: number, shared: number | undefined, behind: number, seconds: number, cpu: number }

async function run (pipeline: string, instances: number, input: string): Promise<Run> {
  const group = `bench-scaleout-g-${pipeline}-${instances}-${stamp}`
  const output = await topic(`bench-scaleout-out-${pipeline}-${instances}-${stamp}`, PARTITIONS)
  const middle = pipeline === 'stateless'
    ? `dstream map 'w => w.toUpperCase()'`
    : `dstream map 'w => [w, 1]' | dstream update-state-by-key '(vs, s = 0) => s + vs.length'`
  const sink = pipeline === 'stateless' ? `dstream to-kafka --topic ${output}` : `dstream to-kafka --topic ${output} --key '([w]) => w' --value '([, n]) => String(n)'`
  const script = `dstream kafka --topic ${input} --group ${group} --from earliest --interval 1s ${SOURCE_ARGS} | ${middle} | ${sink}`
  const start = Date.now()
  // each instance's partitions now, from its last "reading T/0,2,4"
  const shares: Array<Set<number>> = Array.from({ length: instances }, () => new Set())
  const children = Array.from({ length: instances }, (_, i) => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), `bench-scaleout-${i}-`))
    const child = spawn('bash', ['-o', 'pipefail', '-c', script.replaceAll('dstream ', `${DSTREAM} `)], {
      env: { ...process.env, DSTREAM_KAFKA_BROKERS: BROKERS, DSTREAM_STATE_DIR: state, DSTREAM_METRICS: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true
    })
    let stderr = ''
    child.stderr!.on('data', d => {
      stderr += d
      const readings = [...stderr.matchAll(/reading \S+\/([\d,]+)\n|no partitions are this instance's/g)]
      const last = readings.at(-1)
      if (last) shares[i] = new Set(last[1] ? last[1].split(',').map(Number) : [])
    })
    return { child, state, stderr: () => stderr }
  })
  let cpu = 0
  let seconds = 0
  let shared: { at: number, behind: number } | undefined
  try {
    for (;;) {
      const pids = children.flatMap(c => childrenOf(c.child.pid!))
      cpu = Math.max(cpu, cpuOf(pids)) // read while they run: they are gone after the stop
      const behind = await lag(group, input)
      if (!shared && shares.every(s => s.size > 0) && shares.reduce((n, s) => n + s.size, 0) === PARTITIONS && new Set(shares.flatMap(s => [...s])).size === PARTITIONS) shared = { at: Date.now(), behind }
      if (behind === 0) { seconds = (Date.now() - start) / 1000; break }
      if (Date.now() - start > RUN_TIMEOUT) throw new Error(`${pipeline} with ${instances}: the lag is not 0 after ${RUN_TIMEOUT / 1000} s\n${children.map(c => c.stderr()).join('\n')}`)
      if (children.some(c => c.child.exitCode !== null)) throw new Error(`${pipeline} with ${instances}: an instance exited\n${children.map(c => c.stderr()).join('\n')}`)
      await sleep(200)
    }
  } finally {
    for (const c of children) { try { process.kill(-c.child.pid!, 'SIGINT') } catch {} }
    await Promise.all(children.map(c => new Promise(resolve => c.child.exitCode !== null ? resolve(null) : c.child.on('close', resolve))))
    for (const c of children) fs.rmSync(c.state, { recursive: true, force: true })
  }
  const end = start + seconds * 1000
  const from = shared ?? { at: start, behind: RECORDS }
  return { rate: from.behind / Math.max(0.001, (end - from.at) / 1000), overall: RECORDS / seconds, shared: shared && (shared.at - start) / 1000, behind: from.behind, seconds, cpu }
}

/** A changelog partition of `keys` keys, and the time update-state-by-key takes to restore it. */
async function restore (keys: number): Promise<string> {
  const group = `bench-scaleout-restore-${stamp}`
  const changelog = await topic(`dstream-${group}-restore-bench-changelog`, 1)
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  for (let sent = 0; sent < keys; sent += 20_000) {
    const n = Math.min(20_000, keys - sent)
    await producer.send({ topic: changelog, acks: 1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${sent + i}`, value: JSON.stringify([`k${sent + i}`, sent + i]), partition: 0 })) })
  }
  await producer.send({ topic: changelog, acks: 1, messages: [{ key: '\u0000upTo', value: JSON.stringify({ offset: 0 }), partition: 0 }] })
  await producer.disconnect()
  const line = JSON.stringify({ time: 1_800_000_000_000, interval: 1000, offsets: [{ topic: 'words', partition: 0, from: 0, until: 0 }], kafka: { brokers: BROKERS, group, partitions: { words: 1 } }, records: [] })
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scaleout-restore-'))
  try {
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn(DSTREAM, ['update-state-by-key', '--name', 'restore-bench', '(vs, s) => s'], { env: { ...process.env, DSTREAM_KAFKA_BROKERS: BROKERS, DSTREAM_STATE_DIR: state, DSTREAM_METRICS: '0' }, stdio: ['pipe', 'ignore', 'pipe'] })
      let text = ''
      child.stderr.on('data', d => { text += d })
      child.on('close', code => code === 0 ? resolve(text) : reject(new Error(`restore: exit ${code}\n${text}`)))
      child.stdin.end(line + '\n')
    })
    const m = /restored from \S+: (\d+) keys, (\d+) messages read in (\d+) ms/.exec(stderr)
    if (!m) throw new Error(`restore: no figure on stderr\n${stderr}`)
    return `${Number(m[1]).toLocaleString('en')} keys (${Number(m[2]).toLocaleString('en')} messages) restored in ${(Number(m[3]) / 1000).toFixed(1)} s: ${Math.round(Number(m[2]) / Number(m[3]) * 1000).toLocaleString('en')} messages/s`
  } finally {
    fs.rmSync(state, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  await admin.connect()
  const input = await topic(`bench-scaleout-in-${stamp}`, PARTITIONS)
  console.log(`bench/scaleout: ${RECORDS.toLocaleString('en')} records (${WORDS.toLocaleString('en')} words, keyed) in ${PARTITIONS} partitions; ${os.cpus().length} cores; instances ${INSTANCES.join(', ')}`)
  const filling = Date.now()
  await fill(input)
  console.log(`  produced in ${((Date.now() - filling) / 1000).toFixed(1)} s`)
  try {
    for (const pipeline of PIPELINES) {
      console.log(`\n${pipeline}:`)
      console.log('  instances   records/s   vs 1   shared at   then behind   from start   seconds   CPU s')
      let base: number | undefined
      for (const n of INSTANCES) {
        const r = await run(pipeline, n, input)
        base ??= r.rate
        const note = r.shared === undefined ? '   (never shared among all: the rate is from the start)' : r.behind < RECORDS / 5 ? '   (most records were read before the group was shared: raise RECORDS)' : ''
        console.log(`  ${String(n).padStart(9)}   ${Math.round(r.rate).toLocaleString('en').padStart(9)}   ${(r.rate / base).toFixed(2).padStart(4)}   ${(r.shared === undefined ? '-' : r.shared.toFixed(1) + ' s').padStart(9)}   ${r.behind.toLocaleString('en').padStart(11)}   ${Math.round(r.overall).toLocaleString('en').padStart(10)}   ${r.seconds.toFixed(1).padStart(7)}   ${r.cpu.toFixed(1).padStart(5)}${note}`)
      }
    }
    const keys = Number(process.env.RESTORE_KEYS ?? 1_000_000)
    if (keys > 0) console.log(`\na partition's move: ${await restore(keys)}`)
  } finally {
    const changelogs = (await admin.listTopics()).filter(t => t.startsWith('dstream-bench-scaleout-g-'))
    await admin.deleteTopics({ topics: [...made, ...changelogs] }).catch(() => {})
    await admin.disconnect()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
