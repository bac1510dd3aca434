// bench/eventTime: aggregate-by-window at 1,000,000 events a batch (a second of input
// at 1M events/s), 100,000 keys, 10-minute windows sliding 5 minutes, watermark 10
// minutes, 10% of the records late (up to 20 minutes behind, so about half of those
// later than the watermark and set aside), in this process, straight through the
// Stage (no serialisation, no checkpoints), once per output mode. The clock is
// compressed: each batch moves event time on by MINUTES_PER_BATCH minutes, so windows
// close and state is dropped within the run. Printed beside reduce-by-key count over
// the same records as pairs, measured in the same process (machines are noisy: read
// the ratio). The state must stay bounded by the watermark in update and append modes.
//   npm run bench:event-time     (RATE=1000000 BATCHES=16 KEYS=100000 MINUTES_PER_BATCH=2
//   MODES=update,append,complete are the defaults)
import os from 'node:os'
import path from 'node:path'
import { OperatorContext } from '../lib/engine/context.js'
import { DeadLetter } from '../lib/durability/deadLetter.js'
import { Stage } from '../lib/engine/stage.js'
import { parseArgs } from '../lib/cli/args.js'
import { find } from '../lib/cli/registry.js'
import { mulberry32 } from '../lib/intake/random.js'
import type { Chunk, Instance, OperatorDefinition } from '../lib/core/types.js'

const RATE = Number(process.env.RATE ?? 1_000_000)
const BATCHES = Number(process.env.BATCHES ?? 16)
const KEYS = Number(process.env.KEYS ?? 100_000)
const MINUTES_PER_BATCH = Number(process.env.MINUTES_PER_BATCH ?? 2)
const MINUTE = 60_000
const START = Date.UTC(2024, 4, 1)

let random = mulberry32(42)
const keys = Array.from({ length: KEYS }, (_, i) => 'k' + (i * 2654435761 % 1e7).toString(36))

/** Batch i's records: event times spread over its MINUTES_PER_BATCH minutes; 10% of them up to 20 minutes late. */
function records (i: number): Array<{ ts: number, k: string }> {
  const from = START + i * MINUTES_PER_BATCH * MINUTE
  const span = MINUTES_PER_BATCH * MINUTE
  return Array.from({ length: RATE }, (_, j) => {
    const ts = from + Math.floor(j * span / RATE)
    return { ts: random() < 0.1 ? ts - Math.floor(random() * 20 * MINUTE) : ts, k: keys[Math.floor(random() * KEYS)] }
  })
}

let dead = 0
async function stage (command: string[]): Promise<{ stage: Stage, instance: Instance, out: Chunk[] }> {
  const def = find(command[0]) as OperatorDefinition
  const opts = parseArgs(def, command.slice(1))
  const deadLetter = new DeadLetter(path.join(os.tmpdir(), 'dstream-bench-event-time-dead.ndjson'))
  // counted, not written: the bench measures the operator, not the disk
  deadLetter.write = () => { dead++ }
  const ctx = new OperatorContext({
    name: def.name, onError: 'fail', onBadInput: 'fail', deadLetter,
    stateDir: os.tmpdir(), scope: {}, stdout: () => {}, stderr: text => process.stderr.write(text), colour: { stdout: false, stderr: false }, stderrIsTerminal: false
  })
  const instance = await def.init(opts, ctx)
  const out: Chunk[] = []
  const stage = new Stage(def, instance, ctx, { accept: chunk => { out.length = 0; out.push(chunk) }, end: () => {} })
  return { stage, instance, out }
}

interface Measured { ms: number[], held: number[], rows: number[] }

/** Feeds the batches, made afresh each (not timed); the time of each batch, the state held after it, the rows out. */
async function feed (command: string[], shape: (r: { ts: number, k: string }) => unknown = r => r): Promise<Measured & { instance: Instance }> {
  random = mulberry32(42)
  const s = await stage(command)
  const m: Measured = { ms: [], held: [], rows: [] }
  for (let i = 0; i < BATCHES; i++) {
    const batch = records(i).map(shape)
    const start = process.hrtime.bigint()
    await s.stage.accept({ time: (i + 1) * 1000, interval: 1000, records: batch })
    m.ms.push(Number(process.hrtime.bigint() - start) / 1e6)
    m.held.push(s.instance.keys?.() ?? 0)
    m.rows.push(s.out[0]?.records.length ?? 0)
  }
  return { ...m, instance: s.instance }
}

const rate = (ms: number[]) => Math.round(RATE * ms.length / (ms.reduce((a, b) => a + b, 0) / 1000))
const fmt = (n: number) => n.toLocaleString('en')

async function main (): Promise<void> {
  console.log(`${fmt(RATE)} events per batch, ${fmt(KEYS)} keys, ${BATCHES} batches of ${MINUTES_PER_BATCH} event-time minutes each; 10-minute windows sliding 5 minutes, watermark 10 minutes, 10% late; node ${process.version}, ${os.cpus().length} cores`)
  // warm-up: the first batches of each code path, not counted
  const base = await feed(['reduce-by-key', 'count'], r => [r.k, r.ts])
  const baseRate = rate(base.ms.slice(1))
  console.log(`${'reduce-by-key count (baseline), [key, ts] pairs'.padEnd(50)} ${fmt(baseRate).padStart(12)} events/s`)
  const WINDOW = ['--event-time', '_.ts', '--key', '_.k', '--length', '10m', '--slide', '5m', '--watermark', '10m']
  for (const mode of (process.env.MODES ?? 'update,append,complete').split(',')) {
    dead = 0
    const ran = await feed(['aggregate-by-window', 'count', ...WINDOW, '--output-mode', mode])
    const r = rate(ran.ms.slice(1))
    const snapshotStart = performance.now()
    const json = JSON.stringify(ran.instance.snapshot!())
    const snapshotMs = performance.now() - snapshotStart
    console.log(`${`aggregate-by-window count --output-mode ${mode}`.padEnd(50)} ${fmt(r).padStart(12)} events/s  (${(r / baseRate).toFixed(2)}× the baseline)`)
    console.log(`    state after each batch (window × key accumulators): ${ran.held.map(fmt).join(' ')}`)
    console.log(`    rows out per batch: ${ran.rows.map(fmt).join(' ')}`)
    console.log(`    late records set aside: ${fmt(dead)} of ${fmt(RATE * BATCHES)}; last checkpoint ${(json.length / 1e6).toFixed(1)} MB, snapshot + JSON ${snapshotMs.toFixed(0)} ms; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`)
  }
}

main().catch(err => { console.error(err); process.exit(1) })
