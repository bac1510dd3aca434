// The runner's side of stateful operators: checkpoints in DIR/NAME/, restore at
// start, refusal of another definition, and an operator's own output interval.
import fs from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseArgs } from '../../../lib/cli/args.js'
import { run } from '../../../lib/engine/runner.js'
import type { OperatorDefinition } from '../../../lib/core/types.js'
import { batchLines, parseOutput } from '../../helpers.js'

// A running count of records: the smallest stateful operator.
const tally: OperatorDefinition = {
  kind: 'operator',
  name: 'tally',
  spark: '—',
  group: 'state',
  summary: 'running count',
  description: 'test operator',
  positionals: [],
  options: { by: { type: 'number', default: 1 } },
  examples: [],
  input: 'batches',
  init (opts) {
    let total = 0
    return {
      onBatch (records) { total += records.length * opts.by; return [total] },
      snapshot: () => total,
      restore (state) { total = state as number }
    }
  }
}

async function runTally (words: string[], input: string) {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', d => { stdout += d })
  err.on('data', d => { stderr += d })
  const stdin = new PassThrough()
  stdin.end(input)
  const code = await run([{ def: tally, opts: parseArgs(tally, words) }], { stdin, stdout: out, stderr: err })
  return { code, stdout, stderr, records: stdout ? parseOutput(stdout).batches.map(b => [b.time, ...b.records]) : [] }
}

const batches = (n: number) => Array.from({ length: n }, (_, i) => Array(i + 1).fill('x'))

t.test('a run split in two equals an uninterrupted run', async t => {
  const dir = t.testdir()
  const whole = await runTally(['--state-dir', `${dir}/a`], batchLines(batches(4)))
  t.same(whole.records, [[1000, 1], [2000, 3], [3000, 6], [4000, 10]])
  const first = await runTally(['--state-dir', `${dir}/b`], batchLines(batches(2)))
  const second = await runTally(['--state-dir', `${dir}/b`], batchLines(batches(4).slice(2), { start: 3000 }))
  t.same([...first.records, ...second.records], whole.records, 'the second run resumes from the state of batch 2000')
  t.match(second.stderr, /dstream tally: resuming from the checkpoint of batch 2000 in .*\/b\/tally-[0-9a-f]{8}\/checkpoint-2000\.json/)
  const [name] = fs.readdirSync(`${dir}/b`).filter(n => n !== 'metrics')
  const saved = JSON.parse(fs.readFileSync(`${dir}/b/${name}/checkpoint-4000.json`, 'utf8'))
  t.same(saved, { operator: 'tally', definition: { by: 1 }, time: 4000, state: 10 }, 'the checkpoint is readable JSON')
  t.same(fs.readdirSync(`${dir}/b/${name}`), ['checkpoint-4000.json', 'meta.json'], 'with no sink in the pipeline only the latest version is kept; no temporary file is left')
})

t.test('input that comes again rolls the state back to the version before it', async t => {
  // a sink that has committed batch 1000 only: versions from 1000 on are kept
  const dir = t.testdir({ sink: { 'meta.json': JSON.stringify({ operator: 'save', role: 'sink', definition: {} }), 'commit.json': JSON.stringify({ committed: 1000 }) } })
  await runTally(['--state-dir', dir, '--name', 'n'], batchLines(batches(3)))
  const fourth = await runTally(['--state-dir', dir, '--name', 'n'], batchLines([['x', 'x', 'x', 'x']], { start: 4000 }))
  t.same(fourth.records, [[4000, 10]])
  t.same(fs.readdirSync(`${dir}/n`).filter(f => f.startsWith('checkpoint')).sort(), ['checkpoint-1000.json', 'checkpoint-2000.json', 'checkpoint-3000.json', 'checkpoint-4000.json'],
    'versions after the sinks\' commit are kept')
  const replay = await runTally(['--state-dir', dir, '--name', 'n'], batchLines(batches(4).slice(1), { start: 2000 }))
  t.same(replay.records, [[2000, 3], [3000, 6], [4000, 10]], 'batches from 2000 again: the state of batch 1000 is taken, and the output is the same')
  t.match(replay.stderr, /dstream tally: batch 2000 comes again: rolling the state back to batch 1000/)
  const afresh = await runTally(['--state-dir', dir, '--name', 'n'], batchLines(batches(1)))
  t.same(afresh.records, [[1000, 1]], 'from before the first version: from the start')
})

t.test('another definition gets another derived name; with --name it is refused', async t => {
  const dir = t.testdir()
  await runTally(['--state-dir', dir], batchLines(batches(1)))
  const other = await runTally(['--state-dir', dir, '--by', '2'], batchLines(batches(1)))
  t.same(other.records, [[1000, 2]], 'a different definition starts afresh under its own name')
  t.equal(fs.readdirSync(dir).filter(n => n !== 'metrics').length, 2)

  await runTally(['--state-dir', dir, '--name', 'wc'], batchLines(batches(1)))
  const refused = await runTally(['--state-dir', dir, '--name', 'wc', '--by', '3'], batchLines(batches(1)))
  t.equal(refused.code, 1, 'a checkpoint of another definition: exit 1')
  t.match(refused.stderr, /dstream tally: .*\/wc holds the state of another definition \(tally \{"by":1\}, now tally \{"by":3\}\).*dstream state reset wc.*--name/)
  t.equal(refused.stdout, '', 'and nothing was emitted')
})

t.test('a corrupt checkpoint is refused, never reset', async t => {
  const meta = JSON.stringify({ operator: 'tally', role: 'state', definition: { by: 1 } })
  const dir = t.testdir({ wc: { 'meta.json': meta, 'checkpoint-1000.json': '{"operator":"tally","defin' } })
  const ran = await runTally(['--state-dir', dir, '--name', 'wc'], batchLines(batches(2).slice(1), { start: 2000 }))
  t.equal(ran.code, 1)
  t.match(ran.stderr, new RegExp(`checkpoint ${dir}/wc/checkpoint-1000\\.json is corrupt .*dstream state reset wc`))
  t.equal(fs.readFileSync(path.join(dir, 'wc', 'checkpoint-1000.json'), 'utf8'), '{"operator":"tally","defin', 'the file is kept as it was')
  const brokenMeta = t.testdir({ wc: { 'meta.json': '{' } })
  const refused = await runTally(['--state-dir', brokenMeta, '--name', 'wc'], batchLines(batches(1)))
  t.equal(refused.code, 1, 'a corrupt meta.json too')
  t.match(refused.stderr, /wc\/meta\.json is corrupt/)
})

t.test('an unwritable state directory fails at start', async t => {
  const dir = t.testdir({ 'not-a-dir': 'x' })
  const ran = await runTally(['--state-dir', `${dir}/not-a-dir`], batchLines(batches(2)))
  t.equal(ran.code, 1)
  t.match(ran.stderr, /dstream tally: cannot use the state directory/)
  t.equal(ran.stdout, '', 'before any batch')
})

t.test('--checkpoint-every', async t => {
  const dir = t.testdir()
  const ran = await runTally(['--state-dir', dir, '--name', 'n', '--checkpoint-every', '3'], batchLines(batches(4)))
  t.equal(ran.code, 0)
  t.same(fs.readdirSync(`${dir}/n`).sort(), ['checkpoint-4000.json', 'meta.json'], 'the end of input checkpoints what is left')
  const bad = await runTally(['--state-dir', dir, '--checkpoint-every', '0'], '')
  t.equal(bad.code, 2)
})
