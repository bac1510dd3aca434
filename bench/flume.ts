// bench/flume: events per second from a real Flume agent's avro sink into
// `dstream flume PORT | dstream count`, beside the same agent pushing into a second
// Flume agent's avro source (Flume to Flume), in the same run; each plain and with the
// sink's compression-type = deflate. Real Apache Flume 1.11.0 agents of
// scripts/flume/agent.sh (its jars installed: scripts/flume/agent.sh install; java).
//   npm run bench:flume                    (500,000 events)
//   EVENTS=2000000 npm run bench:flume     (or: node dist/bench/flume.js 2000000)
// Other knobs: RUNS (3 rounds), BATCH (the avro sink's batch-size, 1000), INTERVAL
// (dstream flume's --interval, 200ms), RECEIVERS (some of flume,dstream,flume-deflate,
// dstream-deflate,flume-file), CPU_PROF=DIR (node --cpu-prof for the dstream
// processes, and the top of each profile printed), KEEP=1 (keep the agents' logs and
// dstream's state), RUN_TIMEOUT (seconds a run may take; default max(120, N/5000)).
//
// The sender, the same in every run, is one agent: a `seq` source (Flume's
// SequenceGeneratorSource, totalEvents = N, batchSize = BATCH) whose bodies, the
// sequence numbers, a search_replace interceptor turns into ~110-byte access-log
// lines (`82.88.45.123 2020-05-23 19:06:00 "GET /class/112.html HTTP/1.1" 404
// http://www.sogou.com/web?query=hadoop 12345`: the course's lines, each its own);
// a memory channel holding all N (capacity min(N, 1,000,000), transactionCapacity =
// BATCH, the agent's heap 1 GB); and an avro sink, batch-size BATCH (1000: ten times
// Flume's default of 100, what a user tunes a hop to; one appendBatch request of
// ~110 KB), to 127.0.0.1:PORT. The seq source was picked over a spooldir file of N
// lines because it is the faster producer (it fills the channel at several hundred
// thousand events/s, well ahead of the sink, so the channel never runs dry and the
// hop is what is measured) and needs no file made and renamed per run. The avro sink
// sends one batch, waits for its answer, takes the next: its rate is BATCH over the
// round trip, which holds what the sender does per batch (take from its channel,
// encode, commit) and what the receiver does with it before it answers.
//
// The receivers, each started (and ready) before the sender:
//   flume            a second agent: avro source on PORT, memory channel, null sink
//                    (Flume to Flume, the baseline the issue names; the memory channel
//                    is Flume's fastest hop);
//   dstream          `dstream flume PORT --interval INTERVAL | dstream count`, two
//                    processes piped as users run them; dstream flume answers a batch
//                    once it is in its write-ahead log (state directory, fresh per run);
//   *-deflate        the same with the sink's compression-type = deflate (level 6, the
//                    default), and, for Flume, the avro source's compression-type = deflate;
//   flume-file       the Flume receiver with a file channel instead: what a Flume user
//                    configures for events that survive the agent's death, as dstream
//                    flume's log makes them survive its own (the file channel syncs at
//                    every commit, dstream's log is written and not synced per request:
//                    a stronger guarantee, at a price). Shown beside, not a target.
//
// The clock starts when the sender's sink has connected to the receiver: the line
// "Rpc sink hop started." in the sender's log (its timestamp; by then the source has
// been filling the channel for ~0.5 s, so the sink sends back to back from the first
// batch). The JVM's start before that (~1.5 s, the same in every run) is shown apart
// ("sender start": from spawning the agent to that line) and not in the rate. Two
// ends are taken: "acked", when the sender's own counter (Flume's HTTP monitoring,
// SINK.EventDrainSuccessCount, polled every 20 ms) reaches N, i.e. the receiver has
// answered OK to all N: the same measure for every receiver; and for dstream
// "counted", when the `dstream count` on stdout adds up to N, at most an interval
// after acked plus the pipe: what a user of the stream sees. The rates are N over
// the time from the clock's start to each end. Both JVMs and node start cold in every
// run: the first few hundred thousand events go while the JITs compile, so "2nd half"
// gives the warm rate too, N/2 over the time from N/2 acknowledged to N. Flume's
// receiving JVM warms more slowly than node, and gains the more N is (EVENTS=2000000).
// Then the receiver is stopped (dstream: SIGINT to the pipeline, which must exit 0
// with the counts still adding up to N: none twice) and its figures checked (Flume:
// SOURCE.EventAcceptedCount = N).
//
// CPU seconds beside the wall time, read from /proc: the receiver's processes (for
// dstream both, flume and count; for Flume its JVM, null sink, JIT and GC included)
// from just before the sender is started to the end of the run, so their start is not
// in it; and the sender's JVM over the transfer. On 2 cores the sender and the
// receiver share the machine: the sender's JVM (source, interceptor, Avro encoding,
// deflate) is busy most of a core, so a receiver that needs less CPU leaves more to
// the sender. "µs/event" is the receiver's CPU per event, steadier than the wall time
// when the machine is busy with anything else. Each receiver runs RUNS times, all
// alternating round by round so a change in the machine's load falls on all; the
// table shows each one's median run (by the acked time) and the range of its rates;
// "of Flume" compares medians with the memory-channel Flume receiver of the same
// compression. Targets (the issue): dstream >= 50,000 events/s and >= the
// Flume-to-Flume figure; judged on the acked rate, with the warm rate's ratio beside.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin')
const AGENT = path.join(ROOT, 'scripts', 'flume', 'agent.sh')
const N = Number(process.env.EVENTS ?? (/^\d+$/.test(process.argv[2] ?? '') ? process.argv[2] : 500_000))
const RUNS = Number(process.env.RUNS ?? 3)
const BATCH = Number(process.env.BATCH ?? 1000)
const INTERVAL = process.env.INTERVAL ?? '200ms'
const CPU_PROF = process.env.CPU_PROF ? path.resolve(process.env.CPU_PROF) : undefined
const KEEP = process.env.KEEP === '1'
const KINDS = ['flume', 'dstream', 'flume-deflate', 'dstream-deflate', 'flume-file'] as const
type Kind = typeof KINDS[number]
const RECEIVERS = (process.env.RECEIVERS ?? KINDS.join(',')).split(',') as Kind[]
for (const kind of RECEIVERS) if (!KINDS.includes(kind)) throw new Error(`RECEIVERS: no receiver ${kind} (there are ${KINDS.join(', ')})`)
/** how often the sender's counters, the log and the CPU are read */
const POLL_MS = 20
/** the longest a run may take once the sender is started */
const RUN_TIMEOUT = Number(process.env.RUN_TIMEOUT ?? Math.max(120, N / 5000))
const LINE = '82.88.45.123 2020-05-23 19:06:00 "GET /class/112.html HTTP/1.1" 404 http://www.sogou.com/web?query=hadoop'
const CLK_TCK = 100

const run = promisify(execFile)
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

// ---------------------------------------------------------------------------
// processes and their CPU

/** CPU seconds (user + system) a process has used, 0 once it is gone. */
function cpuOf (pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return 0
  }
}

/** The node processes (bin/dstream) of a process group, by pid, with their operator. */
function dstreamsOf (pgid: number): Map<number, string> {
  const found = new Map<number, string>()
  for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      const at = cmd.findIndex(w => w.endsWith('/bin/dstream'))
      if (at >= 0) found.set(Number(pid), cmd[at + 1])
    } catch { /* gone meanwhile */ }
  }
  return found
}

function exited (child: ChildProcess): Promise<number | null> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.on('exit', code => resolve(code))
  })
}

/** The agents' directory of this run (FLUME_HOME of agent.sh): their logs, pid files, configurations. */
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-flume-'))

function agentEnv (heap: string, monitoringPort: number): NodeJS.ProcessEnv {
  return { ...process.env, FLUME_HOME: HOME, FLUME_HEAP: heap, FLUME_JAVA_OPTS: `${process.env.FLUME_JAVA_OPTS ?? ''} -Dflume.monitoring.type=http -Dflume.monitoring.port=${monitoringPort}`.trim() }
}

function pidOfAgent (name: string): number {
  return Number(fs.readFileSync(path.join(HOME, 'agents', name, 'pid'), 'utf8').trim())
}

async function stopAgent (name: string): Promise<void> {
  await run(AGENT, ['stop', name], { env: { ...process.env, FLUME_HOME: HOME } }).catch(err => console.error(`stopping agent ${name}: ${(err as Error).message}`))
}

type Metrics = Record<string, Record<string, string>>

/** An agent's counters (Flume's HTTP monitoring), or undefined while it does not answer. */
async function metrics (port: number): Promise<Metrics | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    return await response.json() as Metrics
  } catch {
    return undefined
  }
}

/** The time of the first line of the agent's log holding `text` (its log4j2 timestamp, local time, ms), or undefined. */
function loggedAt (name: string, text: string): number | undefined {
  let log: string
  try { log = fs.readFileSync(path.join(HOME, 'agents', name, 'agent.log'), 'utf8') } catch { return undefined }
  const at = log.indexOf(text)
  if (at < 0) return undefined
  const line = log.slice(log.lastIndexOf('\n', at) + 1, at)
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{3})/.exec(line)
  return m ? new Date(`${m[1]}.${m[2]}`).getTime() : undefined
}

// ---------------------------------------------------------------------------
// the agents' configurations

function senderConf (name: string, port: number, deflate: boolean): string {
  return `
${name}.sources = seq
${name}.channels = mem
${name}.sinks = hop
${name}.sources.seq.type = seq
${name}.sources.seq.totalEvents = ${N}
${name}.sources.seq.batchSize = ${BATCH}
${name}.sources.seq.backoffSleepIncrement = 10
${name}.sources.seq.maxBackoffSleep = 100
${name}.sources.seq.channels = mem
${name}.sources.seq.interceptors = line
${name}.sources.seq.interceptors.line.type = search_replace
${name}.sources.seq.interceptors.line.searchPattern = ^([0-9]+)$
${name}.sources.seq.interceptors.line.replaceString = ${LINE} $1
${name}.channels.mem.type = memory
${name}.channels.mem.capacity = ${Math.min(N, 1_000_000)}
${name}.channels.mem.transactionCapacity = ${BATCH}
${name}.sinks.hop.type = avro
${name}.sinks.hop.channel = mem
${name}.sinks.hop.hostname = 127.0.0.1
${name}.sinks.hop.port = ${port}
${name}.sinks.hop.batch-size = ${BATCH}
${deflate ? `${name}.sinks.hop.compression-type = deflate\n` : ''}`
}

function receiverConf (name: string, port: number, deflate: boolean, fileChannel: string | undefined): string {
  return `
${name}.sources = avro
${name}.channels = mem
${name}.sinks = null
${name}.sources.avro.type = avro
${name}.sources.avro.bind = 127.0.0.1
${name}.sources.avro.port = ${port}
${name}.sources.avro.channels = mem
${deflate ? `${name}.sources.avro.compression-type = deflate\n` : ''}${fileChannel
  ? `${name}.channels.mem.type = file\n${name}.channels.mem.checkpointDir = ${fileChannel}/checkpoint\n${name}.channels.mem.dataDirs = ${fileChannel}/data\n`
  : `${name}.channels.mem.type = memory\n`}${name}.channels.mem.capacity = ${Math.max(200_000, 20 * BATCH)}
${name}.channels.mem.transactionCapacity = ${BATCH}
${name}.sinks.null.type = null
${name}.sinks.null.channel = mem
${name}.sinks.null.batchSize = ${BATCH}
`
}

// ---------------------------------------------------------------------------
// one run

interface Result {
  kind: Kind
  ok: boolean
  note: string
  /** ms from spawning the sender to its sink's connection */
  senderStart: number
  /** seconds from the sink's connection to all N acknowledged (the sender's counter) */
  acked: number
  /** seconds from N/2 acknowledged to N: the second half, the JVMs and V8 warm */
  secondHalf: number
  /** dstream: seconds to all N counted on stdout */
  counted?: number
  /** CPU seconds of the receiver's processes over the run (not their start) */
  cpu: number
  /** dstream: the CPU seconds of each process, by operator */
  cpuBy?: Record<string, number>
  /** CPU seconds of the sender's JVM over the transfer */
  senderCpu: number
}

interface Receiver {
  /** the receiver's CPU seconds used so far */
  cpu(): number
  cpuBy?(): Record<string, number>
  /** dstream: the events counted so far on stdout */
  counted?(): number
  /** stops it; a note when something is wrong */
  stop(): Promise<string | undefined>
}

async function startFlumeReceiver (name: string, port: number, deflate: boolean, fileChannel: boolean, dir: string): Promise<Receiver & { monitoring: number }> {
  const monitoring = await freePort()
  const conf = path.join(dir, `${name}.properties`)
  fs.writeFileSync(conf, receiverConf(name, port, deflate, fileChannel ? path.join(dir, 'channel') : undefined))
  await run(AGENT, ['start', name, conf], { env: agentEnv('512m', monitoring) })
  const pid = pidOfAgent(name)
  return {
    monitoring,
    cpu: () => cpuOf(pid),
    async stop () {
      const m = await metrics(monitoring)
      const accepted = Number(m?.['SOURCE.avro']?.EventAcceptedCount)
      await stopAgent(name)
      return accepted === N ? undefined : `the avro source accepted ${accepted}, not ${N}`
    }
  }
}

async function startDstreamReceiver (port: number, dir: string): Promise<Receiver> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, DSTREAM_STATE_DIR: path.join(dir, 'state') }
  // (node 20 does not take --cpu-prof from NODE_OPTIONS: the profiled commands are run by node itself)
  const dstream = CPU_PROF ? `node --cpu-prof --cpu-prof-dir=${CPU_PROF} ${BIN}/dstream` : 'dstream'
  // a process group of its own, so that a stop reaches both processes as Ctrl-C does
  const child = spawn('bash', ['-o', 'pipefail', '-c', `${dstream} flume ${port} --interval ${INTERVAL} | ${dstream} count`], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stderr = ''
  let total = 0
  let rest = ''
  child.stderr!.on('data', d => { stderr += d })
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n')
    rest = lines.pop()!
    for (const line of lines) {
      const records = (JSON.parse(line) as { records: number[] }).records
      if (records.length > 0) total += records[0]
    }
  })
  const closed = exited(child)
  for (const deadline = Date.now() + 30_000; !/listening on/.test(stderr); await sleep(20)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dstream flume did not start: ${stderr}`)
  }
  // both processes are up: count's too (it is started by bash at the same time)
  let pids = dstreamsOf(child.pid!)
  for (const deadline = Date.now() + 10_000; pids.size < 2 && Date.now() < deadline; await sleep(20)) pids = dstreamsOf(child.pid!)
  const last = new Map<number, number>()
  const byOp = () => {
    const by: Record<string, number> = {}
    for (const [pid, op] of pids) {
      const used = cpuOf(pid)
      if (used > 0) last.set(pid, used)
      by[op] = (by[op] ?? 0) + (last.get(pid) ?? 0)
    }
    return by
  }
  return {
    cpu: () => Object.values(byOp()).reduce((a, b) => a + b, 0),
    cpuBy: byOp,
    counted: () => total,
    async stop () {
      byOp()
      try { process.kill(-child.pid!, 'SIGINT') } catch { /* gone */ }
      const code = await Promise.race([closed, sleep(30_000).then(() => 'late' as const)])
      if (code === 'late') {
        try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
        await closed
      }
      const notes = []
      if (code !== 0) notes.push(code === 'late' ? 'did not exit in 30 s of SIGINT' : `exit ${code} on SIGINT`)
      if (total !== N) notes.push(`counted ${total}, not ${N}`)
      const said = stderr.split('\n').filter(l => l && !/listening on/.test(l))
      if (said.length > 0) notes.push(`said: ${said.slice(0, 5).join(' | ').slice(0, 400)}`)
      return notes.length > 0 ? notes.join('; ') : undefined
    }
  }
}

async function once (kind: Kind, round: number): Promise<Result> {
  const deflate = kind.endsWith('-deflate')
  const dir = path.join(HOME, `${kind}-${round}`)
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const tag = `b${process.pid}-${round}-${kind}`
  const receiverName = `${tag}-recv`
  const senderName = `${tag}-send`
  const result: Result = { kind, ok: false, note: '', senderStart: NaN, acked: NaN, secondHalf: NaN, cpu: NaN, senderCpu: NaN }
  let receiver: Receiver
  try {
    receiver = kind.startsWith('flume') ? await startFlumeReceiver(receiverName, port, deflate, kind === 'flume-file', dir) : await startDstreamReceiver(port, dir)
  } catch (err) {
    // (agent.sh start stops an agent that did not start)
    return { ...result, note: `the receiver did not start: ${(err as Error & { stderr?: string }).stderr ?? (err as Error).message}` }
  }
  const notes: string[] = []
  const conf = path.join(dir, `${senderName}.properties`)
  fs.writeFileSync(conf, senderConf(senderName, port, deflate))
  const monitoring = await freePort()
  const cpu0 = receiver.cpu()
  const by0 = receiver.cpuBy?.()
  const spawned = Date.now()
  let failedStart: string | undefined
  const starting = run(AGENT, ['start', senderName, conf], { env: agentEnv('1g', monitoring) }).then(() => {}, (err: Error & { stderr?: string }) => { failedStart = `the sender did not start: ${err.stderr ?? err.message}` })
  let senderPid = 0
  let senderCpu0 = 0
  let connected: number | undefined
  let acked: number | undefined
  let counted: number | undefined
  let half: number | undefined
  let drained = 0
  try {
    for (const deadline = spawned + RUN_TIMEOUT * 1000; ; await sleep(POLL_MS)) {
      const now = Date.now()
      if (!senderPid) { try { senderPid = pidOfAgent(senderName) } catch { /* not yet */ } }
      if (connected === undefined) {
        connected = loggedAt(senderName, 'Rpc sink hop started.')
        if (connected !== undefined) senderCpu0 = cpuOf(senderPid)
      }
      if (acked === undefined) {
        const m = await metrics(monitoring)
        drained = Number(m?.['SINK.hop']?.EventDrainSuccessCount ?? 0)
        if (half === undefined && drained >= N / 2) half = Date.now()
        if (drained >= N) {
          acked = Date.now()
          result.senderCpu = cpuOf(senderPid) - senderCpu0
        }
      }
      if (receiver.counted && counted === undefined && receiver.counted() >= N) counted = Date.now()
      if (acked !== undefined && (!receiver.counted || counted !== undefined)) break
      if (failedStart) break
      if (acked !== undefined && now - acked > 10_000) {
        notes.push(`all ${N} acknowledged, but ${receiver.counted!()} counted 10 s later`)
        break
      }
      if (now > deadline) {
        notes.push(`stopped after ${RUN_TIMEOUT} s: ${drained} acknowledged${receiver.counted ? `, ${receiver.counted()} counted` : ''}`)
        break
      }
    }
    result.cpu = receiver.cpu() - cpu0
    const by = receiver.cpuBy?.()
    if (by && by0) result.cpuBy = Object.fromEntries(Object.entries(by).map(([op, s]) => [op, s - (by0[op] ?? 0)]))
    await starting
    if (failedStart) notes.push(failedStart)
  } finally {
    await stopAgent(senderName)
    const wrong = await receiver.stop()
    if (wrong) notes.push(wrong)
  }
  if (connected === undefined) notes.push("no 'Rpc sink hop started.' in the sender's log")
  else {
    result.senderStart = connected - spawned
    if (acked !== undefined) result.acked = (acked - connected) / 1000
    if (acked !== undefined && half !== undefined) result.secondHalf = (acked - half) / 1000
    if (counted !== undefined) result.counted = (counted - connected) / 1000
  }
  result.ok = notes.length === 0 && Number.isFinite(result.acked)
  result.note = notes.join('; ')
  if (result.ok && !KEEP) fs.rmSync(dir, { recursive: true, force: true })
  return result
}

// ---------------------------------------------------------------------------
// profiles

/**
 * Where a .cpuprofile's busy samples are (the idle ones left out): the functions with
 * the most self time, and with the most time inclusive of what they call, each as
 * [share of the busy samples, name file:line]; and the busy seconds.
 */
function profileTop (file: string, top = 15): { busy: number, self: Array<[number, string]>, inclusive: Array<[number, string]> } {
  interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[], samples: number[], startTime: number, endTime: number }
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const nameOf = (n: Node) => {
    const f = n.callFrame
    const where = f.url ? ` ${f.url.replace(/^file:\/\//, '').replace(ROOT + '/', '')}:${f.lineNumber + 1}` : ''
    return `${f.functionName || '(anonymous)'}${where}`
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let busy = 0
  for (const id of profile.samples) {
    const node = byId.get(id)!
    if (node.callFrame.functionName === '(idle)') continue
    busy++
    self.set(nameOf(node), (self.get(nameOf(node)) ?? 0) + 1)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = nameOf(byId.get(at)!)
      if (seen.has(name) || name === '(root)') continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1)
    }
  }
  const topOf = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, n]) => [n / busy, name] as [number, string])
  const seconds = (profile.endTime - profile.startTime) / 1e6 * busy / Math.max(1, profile.samples.length)
  return { busy: seconds, self: topOf(self), inclusive: topOf(inclusive) }
}

// ---------------------------------------------------------------------------

async function main (): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, '.flume', 'lib', 'flume-ng-node-1.11.0.jar')) && !process.env.FLUME_LIBS) {
    console.error('bench:flume: no Flume jars (run scripts/flume/agent.sh install)')
    process.exit(1)
  }
  if (CPU_PROF) fs.mkdirSync(CPU_PROF, { recursive: true })
  const size = `${LINE} ${N - 1}`.length
  console.log(`${os.cpus().length} cores, load ${os.loadavg().map(l => l.toFixed(2)).join(' ')}; ${N.toLocaleString('en')} events of ${size - String(N - 1).length + 1} to ${size} bytes from a Flume 1.11.0 agent (seq source, memory channel, avro sink, batch-size ${BATCH}); ${RUNS} runs of each receiver; dstream flume --interval ${INTERVAL}`)
  const results = new Map<Kind, Result[]>(RECEIVERS.map(k => [k, []]))
  const label: Record<Kind, string> = {
    flume: 'Flume avro source',
    dstream: 'dstream flume | count',
    'flume-deflate': 'Flume avro source, deflate',
    'flume-file': 'Flume avro source, file channel',
    'dstream-deflate': 'dstream flume | count, deflate'
  }
  try {
    for (let round = 1; round <= RUNS; round++) {
      for (const kind of RECEIVERS) {
        const r = await once(kind, round)
        results.get(kind)!.push(r)
        const by = r.cpuBy ? ` (${Object.entries(r.cpuBy).map(([op, s]) => `${op} ${s.toFixed(2)}`).join(', ')})` : ''
        console.log(`  round ${round} ${label[kind].padEnd(31)} ${r.ok ? `acked in ${r.acked.toFixed(2)} s (2nd half ${r.secondHalf.toFixed(2)} s)${r.counted !== undefined ? `, counted in ${r.counted.toFixed(2)} s` : ''}; receiver CPU ${r.cpu.toFixed(2)} s${by}, sender CPU ${r.senderCpu.toFixed(2)} s, sender start ${(r.senderStart / 1000).toFixed(2)} s` : `FAILED: ${r.note}`}`)
      }
    }

    console.log(`\n${'receiver'.padEnd(31)} ${'acked s'.padStart(8)} ${'events/s'.padStart(9)} ${'range'.padStart(17)} ${'of Flume'.padStart(8)} ${'2nd half/s'.padStart(10)} ${'of Flume'.padStart(8)} ${'counted s'.padStart(9)} ${'events/s'.padStart(9)} ${'CPU s'.padStart(6)} ${'µs/event'.padStart(8)} ${'sender CPU s'.padStart(12)}`)
    const medians = new Map<Kind, Result>()
    for (const kind of RECEIVERS) {
      const ok = results.get(kind)!.filter(r => r.ok)
      if (ok.length === 0) { console.log(`${label[kind].padEnd(31)} FAILED`); continue }
      const m = [...ok].sort((a, b) => a.acked - b.acked)[Math.floor((ok.length - 1) / 2)]
      medians.set(kind, m)
    }
    const rate = (s: number | undefined) => s === undefined ? NaN : N / s
    const fmt = (x: number, width: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '-').padStart(width)
    for (const kind of RECEIVERS) {
      const m = medians.get(kind)
      if (!m) continue
      const ok = results.get(kind)!.filter(r => r.ok)
      const rates = ok.map(r => rate(r.acked))
      const base = medians.get(kind.endsWith('-deflate') ? 'flume-deflate' : 'flume')
      const failed = results.get(kind)!.length - ok.length
      console.log([
        label[kind].padEnd(31),
        m.acked.toFixed(2).padStart(8),
        fmt(rate(m.acked), 9),
        `${fmt(Math.min(...rates), 0)}-${fmt(Math.max(...rates), 0)}`.padStart(17),
        (base ? `${(base.acked / m.acked * 100).toFixed(0)}%` : '-').padStart(8),
        fmt(N / 2 / m.secondHalf, 10),
        (base ? `${(base.secondHalf / m.secondHalf * 100).toFixed(0)}%` : '-').padStart(8),
        (m.counted === undefined ? '-' : m.counted.toFixed(2)).padStart(9),
        fmt(rate(m.counted), 9),
        m.cpu.toFixed(2).padStart(6),
        (m.cpu / N * 1e6).toFixed(2).padStart(8),
        m.senderCpu.toFixed(2).padStart(12),
        failed > 0 ? ` ${failed} of ${RUNS} runs FAILED: ${results.get(kind)!.filter(r => !r.ok).map(r => r.note).join('; ')}` : ''
      ].join(' '))
    }
    console.log('(acked: from the sender\'s sink connecting to all N answered OK, by the sender\'s own counter; 2nd half: the rate from N/2 to N answered, with the JVMs and V8 warm; counted: to all N counted on dstream count\'s stdout; CPU: the receiver\'s processes, their start not included; the median run of each by acked time)')

    console.log(`\nload average at the end: ${os.loadavg().map(l => l.toFixed(2)).join(' ')} (other work on the machine slows every run; CPU s is less sensitive to it)`)
    let allMet = true
    for (const [kind, base] of [['dstream', 'flume'], ['dstream-deflate', 'flume-deflate']] as const) {
      const m = medians.get(kind)
      if (!RECEIVERS.includes(kind)) continue
      if (!m) { console.log(`${label[kind]}: FAILED: targets NOT met`); allMet = false; continue }
      const b = medians.get(base)
      const r = rate(m.acked)
      const counted = rate(m.counted)
      const vsFlume = b ? b.acked / m.acked : NaN
      const warm = b ? b.secondHalf / m.secondHalf : NaN
      const met = r >= 50_000 && counted >= 50_000 && (!b || vsFlume >= 1)
      allMet &&= met
      console.log(`${label[kind]}: ${Math.round(r).toLocaleString('en')} events/s acked, ${Math.round(counted).toLocaleString('en')} counted (target >= 50,000): ${r >= 50_000 && counted >= 50_000 ? 'met' : 'NOT met'}` +
        (b ? `; ${(vsFlume * 100).toFixed(0)}% of Flume to Flume's ${Math.round(rate(b.acked)).toLocaleString('en')} (target >= 100%): ${vsFlume >= 1 ? 'met' : 'NOT met'}` +
          `; warm (2nd half) ${Math.round(N / 2 / m.secondHalf).toLocaleString('en')} events/s, ${(warm * 100).toFixed(0)}% of Flume's ${Math.round(N / 2 / b.secondHalf).toLocaleString('en')}: ${warm >= 1 ? 'met' : 'NOT met'}` +
          `; CPU ${(m.cpu / N * 1e6).toFixed(2)} µs/event against Flume's ${(b.cpu / N * 1e6).toFixed(2)}` : ''))
    }
    const file = medians.get('flume-file')
    const d = medians.get('dstream')
    if (file && d) console.log(`dstream flume | count: ${(file.acked / d.acked * 100).toFixed(0)}% of Flume into a file channel (${Math.round(rate(file.acked)).toLocaleString('en')} events/s; a durable channel as dstream flume's log is, synced at every commit where dstream's is not)`)
    if ([...results.values()].flat().some(r => !r.ok)) process.exitCode = 1

    if (CPU_PROF) {
      for (const file of fs.readdirSync(CPU_PROF).filter(f => f.endsWith('.cpuprofile')).sort()) {
        const top = profileTop(path.join(CPU_PROF, file))
        console.log(`\n${path.join(CPU_PROF, file)}: ${top.busy.toFixed(2)} s busy (start and stop included); the most self time, of the busy samples`)
        for (const [share, name] of top.self) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${name}`)
        console.log('  the most time inclusive of what they call')
        for (const [share, name] of top.inclusive) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${name}`)
      }
    }
    if (!allMet) console.log('\n(targets not met: see above)')
  } finally {
    if (!KEEP && process.exitCode !== 1) fs.rmSync(HOME, { recursive: true, force: true })
    else console.log(`\nthe agents' logs and configurations are in ${HOME}`)
  }
}

main().catch(err => { console.error(err); process.exit(1) })
