// The runner's side of stateful operators: checkpoints in DIR/NAME/, restore at
// start, refusal of another definition, and an operator's own output interval.
import fs from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseArgs } from '../../lib/cli.js'
import { run } from '../../lib/runner.js'
import type { OperatorDefinition } from '../../lib/types.js'
import { batchLines, parseOutput } from '../helpers.js'

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
  const second = await runTally(['--state-dir', `${dir}/b`], batchLines(batches(4)))
  t.same([...first.records, ...second.records], whole.records, 'the second run resumes, and skips the batches it already counted')
  t.match(second.stderr, /dstream tally: resuming from the checkpoint of batch 2000 in .*\/b\/tally-[0-9a-f]{8}\/checkpoint\.json/)
  const [name] = fs.readdirSync(`${dir}/b`)
  const saved = JSON.parse(fs.readFileSync(`${dir}/b/${name}/checkpoint.json`, 'utf8'))
  t.same(saved, { operator: 'tally', definition: { by: 1 }, time: 4000, state: 10 }, 'the checkpoint is readable JSON')
  t.same(fs.readdirSync(`${dir}/b/${name}`), ['checkpoint.json'], 'no temporary file is left')
})

t.test('another definition gets another derived name; with --name it is refused', async t => {
  const dir = t.testdir()
  await runTally(['--state-dir', dir], batchLines(batches(1)))
  const other = await runTally(['--state-dir', dir, '--by', '2'], batchLines(batches(1)))
  t.same(other.records, [[1000, 2]], 'a different definition starts afresh under its own name')
  t.equal(fs.readdirSync(dir).length, 2)

  await runTally(['--state-dir', dir, '--name', 'wc'], batchLines(batches(1)))
  const refused = await runTally(['--state-dir', dir, '--name', 'wc', '--by', '3'], batchLines(batches(1)))
  t.equal(refused.code, 1, 'a checkpoint of another definition: exit 1')
  t.match(refused.stderr, /checkpoint .*wc\/checkpoint\.json was written by another definition .*dstream state reset wc.*--name/)
  t.equal(refused.stdout, '', 'and nothing was emitted')
})

t.test('a corrupt checkpoint is refused, never reset', async t => {
  const dir = t.testdir({ wc: { 'checkpoint.json': '{"operator":"tally","defin' } })
  const ran = await runTally(['--state-dir', dir, '--name', 'wc'], batchLines(batches(1)))
  t.equal(ran.code, 1)
  t.match(ran.stderr, new RegExp(`checkpoint ${dir}/wc/checkpoint\\.json is corrupt .*dstream state reset wc`))
  t.equal(fs.readFileSync(path.join(dir, 'wc', 'checkpoint.json'), 'utf8'), '{"operator":"tally","defin', 'the file is kept as it was')
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
  t.equal(JSON.parse(fs.readFileSync(`${dir}/n/checkpoint.json`, 'utf8')).time, 4000, 'the end of input checkpoints what is left')
  const bad = await runTally(['--state-dir', dir, '--checkpoint-every', '0'], '')
  t.equal(bad.code, 2)
})

t.test('an operator sets its output interval', async t => {
  const slide: OperatorDefinition = {
    ...tally,
    name: 'every-other',
    init: () => ({
      outputInterval: input => input * 2,
      onBatch: (records, batch) => batch.time % (batch.interval * 2) === 0 ? records : undefined
    })
  }
  const stdin = new PassThrough()
  stdin.end(batchLines([['a'], ['b'], ['c'], ['d']]))
  const out = new PassThrough()
  let stdout = ''
  out.on('data', d => { stdout += d })
  const code = await run([{ def: slide, opts: parseArgs(slide, []) }], { stdin, stdout: out, stderr: new PassThrough() })
  t.equal(code, 0)
  t.same(parseOutput(stdout).batches.map(b => [b.time, b.interval, b.records]), [[2000, 2000, ['b']], [4000, 2000, ['d']]])
})
