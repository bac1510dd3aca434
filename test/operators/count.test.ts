import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseOutput, runTable, runWords } from '../helpers.js'

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "count": Seq(Seq(), 1 to 1, 1 to 2, 1 to 3, 1 to 4) → Seq(Seq(0L), Seq(1L), ..., Seq(4L))
    ['Spark: count', ['count'], [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]], [[0], [1], [2], [3], [4]]],
    ['records of any shape count', ['count'], [[['a', 1], { b: 2 }, 'c', null, [], 0]], [[6]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['count'], [[], []])
  t.same(empty.records, [[0], [0]], 'an empty batch counts 0, as in Spark')
  const chunked = await runTable(['count'], [[1, 2, 3, 4, 5], [1, 2, 3]], { chunk: 2 })
  t.same(chunked.records, [[5], [3]], 'a chunked batch gives the same count')
  t.same(chunked.chunks.length, 2, 'one chunk out per batch, at its last chunk')
  const open = await runWords(['count'], JSON.stringify({ time: 1000, interval: 1000, records: [1, 2], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not counted')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['count'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  // count takes any record; only a line that is not a batch is bad
  const bad = await runWords(['count'], JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\n{"time":2000}\n')
  t.equal(bad.code, 65, 'a line that is not a batch: exit 65')
  t.match(bad.stderr, /^dstream count: after batch 1000: not a batch: "interval" must be a positive integer/, 'names operator, batch time and why')
  const file = path.join(t.testdir(), 'dead.ndjson')
  const skipped = await runWords(['count', '--on-bad-input', 'skip', '--dead-letter', file],
    JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\n{"time":2000}\n' + JSON.stringify({ time: 2000, interval: 1000, records: [2, 3] }) + '\n')
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(parseOutput(skipped.stdout).batches.map(b => b.records), [[1], [2]], 'the stream flows')
  t.same(fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l).line), ['{"time":2000}'], 'the dead-letter file has the line')
})

t.test('usage errors', async t => {
  const extra = await runWords(['count', 'x'], '')
  t.equal(extra.code, 2, 'an argument: exit 2')
  t.match(extra.stderr, /^dstream count: unexpected argument 'x'\nUsage: dstream count \[options\]/)
  const unknown = await runWords(['count', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream count: Unknown argument: nope\n/)
})
