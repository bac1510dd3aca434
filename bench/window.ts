// bench/window: a 1-hour window sliding every second at 100,000 records/s, in this
// process, straight through the Stage (no serialisation, no checkpoints): the time
// of each batch at the start and once the window is full (3600 batches), beside
// plain reduce-by-key sum over the same batches. The cost per batch of the
// incremental window must not grow with the window.
//   npx tsc -p tsconfig.json && node dist/bench/window.js
//   (RATE=100000 BATCHES=3800 VOCABULARY=1000 are the defaults)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Checkpoint } from '../lib/durability/checkpoint.js'
import { Component } from '../lib/durability/component.js'
import { OperatorContext } from '../lib/engine/context.js'
import { DeadLetter } from '../lib/durability/deadLetter.js'
import { Stage } from '../lib/engine/stage.js'
import { parseArgs } from '../lib/cli/args.js'
import { find } from '../lib/cli/registry.js'
import type { Chunk, Instance, OperatorDefinition } from '../lib/core/types.js'

const RATE = Number(process.env.RATE ?? 100_000)
const BATCHES = Number(process.env.BATCHES ?? 3800)
const VOCABULARY = Number(process.env.VOCABULARY ?? 1000)

// 50 different batches of RATE [word, 1] records, words skewed like text, used in turn
let seed = 42
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
const words = Array.from({ length: VOCABULARY }, (_, i) => 'w' + (i * 2654435761 % 1e6).toString(36))
const inputs = Array.from({ length: 50 }, () => Array.from({ length: RATE }, () => [words[Math.floor(random() * random() * words.length)], 1]))

async function stage (command: string[]): Promise<{ stage: Stage, instance: Instance, out: Chunk[] }> {
  const def = find(command[0]) as OperatorDefinition
  const opts = parseArgs(def, command.slice(1))
  const ctx = new OperatorContext({
    name: def.name, onError: 'fail', onBadInput: 'fail', deadLetter: new DeadLetter(path.join(os.tmpdir(), 'dead.ndjson')),
    stateDir: os.tmpdir(), scope: {}, stdout: () => {}, stderr: text => process.stderr.write(text), colour: { stdout: false, stderr: false }, stderrIsTerminal: false
  })
  const instance = await def.init(opts, ctx)
  const out: Chunk[] = []
  const stage = new Stage(def, instance, ctx, { accept: chunk => { out.length = 0; out.push(chunk) }, end: () => {} })
  return { stage, instance, out }
}

/** Feeds n batches; returns each batch's time in ms. */
async function feed (s: Stage, n: number, progress = false): Promise<number[]> {
  const times: number[] = []
  for (let i = 1; i <= n; i++) {
    const start = process.hrtime.bigint()
    await s.accept({ time: i * 1000, interval: 1000, records: inputs[i % inputs.length] })
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (progress && i % 500 === 0) process.stderr.write(`  ${i} batches\n`)
  }
  return times
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rate = (xs: number[]) => Math.round(RATE * xs.length / (xs.reduce((a, b) => a + b, 0) / 1000))
const line = (what: string, xs: number[]) => `${what.padEnd(52)} ${median(xs).toFixed(1).padStart(6)} ms/batch (median) ${rate(xs).toLocaleString('en').padStart(12)} records/s`

async function main (): Promise<void> {
  console.log(`${RATE.toLocaleString('en')} records per 1 s batch, ${VOCABULARY} distinct keys, ${BATCHES} batches; node ${process.version}, ${os.cpus().length} cores`)
  const baseline = await stage(['reduce-by-key', 'sum'])
  const base = await feed(baseline.stage, 200)
  console.log(line('reduce-by-key sum (baseline), batches 1-200', base.slice(20)))

  const windowed = await stage(['reduce-by-key-and-window', 'sum', '--length', '1h', '--slide', '1s'])
  const times = await feed(windowed.stage, BATCHES, true)
  console.log(line('reduce-by-key-and-window sum 1h/1s, batches 21-200', times.slice(20, 200)))
  if (BATCHES > 3700) console.log(line('reduce-by-key-and-window sum 1h/1s, batches 3601-3700', times.slice(3600, 3700)))
  console.log(line('reduce-by-key-and-window sum 1h/1s, last 100 batches', times.slice(-100)))
  console.log(`  keys in the last window: ${windowed.out[0]?.records.length}; max batch time ${Math.max(...times.slice(20)).toFixed(1)} ms; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`)

  const inverse = await stage(['reduce-by-key-and-window', '(a, b) => a + b', '--inverse', '(a, b) => a - b', '--length', '1h', '--slide', '1s'])
  const inv = await feed(inverse.stage, 200)
  console.log(line("with --inverse '(a, b) => a - b', batches 21-200", inv.slice(20)))

  // what the runner does after a batch (every --checkpoint-every N batches): snapshot, write, fsync, rename
  const checkpoint = new Checkpoint(new Component(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-window-')), 'w', { operator: 'reduce-by-key-and-window', role: 'state', definition: {} }))
  checkpoint.component.prepare()
  const start = process.hrtime.bigint()
  checkpoint.save(BATCHES * 1000, windowed.instance.snapshot!())
  const saved = Number(process.hrtime.bigint() - start) / 1e6
  const restoring = process.hrtime.bigint()
  const copy = await stage(['reduce-by-key-and-window', 'sum', '--length', '1h', '--slide', '1s'])
  copy.instance.restore!(checkpoint.loadBefore(Infinity)!.state)
  const restored = Number(process.hrtime.bigint() - restoring) / 1e6
  console.log(`  a checkpoint of the full 1h window: ${(fs.statSync(checkpoint.fileOf(BATCHES * 1000)).size / 1e6).toFixed(1)} MB, written in ${saved.toFixed(0)} ms, read and restored in ${restored.toFixed(0)} ms`)
  fs.rmSync(checkpoint.component.stateDir, { recursive: true })
}

main().catch(err => { console.error(err); process.exit(1) })
