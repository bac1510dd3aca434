// bench/state: the running word count's state at 1,000,000 keys — how long the
// checkpoint takes to write and to restore, how big it is, and the memory it needs.
//   npm run build && node dist/bench/state.js      (KEYS=100000 for a quick look)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { Checkpoint } from '../lib/durability/checkpoint.js'
import { Component } from '../lib/durability/component.js'
import { parseArgs } from '../lib/cli/args.js'
import { find } from '../lib/cli/registry.js'
import { run } from '../lib/engine/runner.js'
import { formatChunk } from '../lib/core/wire.js'
import type { OperatorDefinition } from '../lib/core/types.js'

const KEYS = Number(process.env.KEYS ?? 1_000_000)
const FN = '(values, count) => (count ?? 0) + values.length'

async function pass (stateDir: string, batches: unknown[][], from = 1000): Promise<{ ms: number, stderr: string }> {
  const def = find('update-state-by-key') as OperatorDefinition
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let errors = ''
  stdout.resume()
  stderr.on('data', d => { errors += d })
  for (const [i, records] of batches.entries()) stdin.write(formatChunk({ time: from + i * 1000, interval: 1000, records }))
  stdin.end()
  const start = performance.now()
  const code = await run([{ def, opts: parseArgs(def, [FN, '--state-dir', stateDir]) }], { stdin, stdout, stderr })
  if (code !== 0) throw new Error(errors)
  return { ms: performance.now() - start, stderr: errors }
}

async function main (): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-state-'))
  const words = Array.from({ length: KEYS }, (_, i) => [`word-${i}`, 1])
  console.log(`update-state-by-key with ${KEYS.toLocaleString('en')} keys, checkpoint after every batch`)
  const first = await pass(dir, [words])
  const [name] = fs.readdirSync(dir)
  const file = path.join(dir, name, 'checkpoint-1000.json')
  console.log(`first run: 1 batch of ${KEYS.toLocaleString('en')} records, state built and checkpointed: ${first.ms.toFixed(0)} ms`)
  console.log(`checkpoint: ${(fs.statSync(file).size / 1e6).toFixed(1)} MB in ${file}`)

  // the checkpoint alone: read and parse it, then write it again (atomic: temporary file, fsync, rename)
  const checkpoint = new Checkpoint(new Component(dir, name, { operator: 'update-state-by-key', role: 'state', definition: { fn: FN } }))
  let t0 = performance.now()
  const loaded = checkpoint.loadBefore(Infinity)!
  const loadMs = performance.now() - t0
  t0 = performance.now()
  checkpoint.save(loaded.time, loaded.state)
  console.log(`checkpoint alone: read ${loadMs.toFixed(0)} ms, written ${(performance.now() - t0).toFixed(0)} ms`)

  // an empty batch: the time is restoring, calling FN for every key once, and one checkpoint
  const empty = await pass(dir, [[]], 2000)
  console.log(`restart: restore + 1 batch over ${KEYS.toLocaleString('en')} keys + checkpoint: ${empty.ms.toFixed(0)} ms`)
  const one = await pass(path.join(dir, 'x'), [[]])
  console.log(`(the same batch with no state: ${one.ms.toFixed(0)} ms)`)
  const saved = JSON.parse(fs.readFileSync(path.join(dir, name, 'checkpoint-2000.json'), 'utf8'))
  console.log(`restored state ok: ${saved.state.length === KEYS ? 'yes' : 'NO'} (${saved.state.length} keys, last batch ${saved.time}); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
  fs.rmSync(dir, { recursive: true, force: true })
}

main().catch(err => { console.error(err); process.exit(1) })
