import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseOutput, runTable, runWords } from '../helpers.js'

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "glom" runs on 2 partitions and gets Seq(Seq(1, 2), Seq(3, 4)) for 1 to 4;
    // a dstream batch is one partition, so one array per batch.
    ['Spark: glom, one partition', ['glom'], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[[1, 2, 3, 4]], [[5, 6, 7, 8]], [[9, 10, 11, 12]]]],
    ['records of any shape, in order', ['glom'], [[['a', 1], { b: 2 }, 'c', null]], [[[['a', 1], { b: 2 }, 'c', null]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['glom'], [[], [1], []])
  t.same(empty.records, [[[]], [[1]], [[]]], 'an empty batch gives one empty array, as an empty Spark partition')
  const chunked = await runTable(['glom'], [[1, 2, 3, 4, 5], [6]], { chunk: 2 })
  t.same(chunked.records, [[[1, 2, 3, 4, 5]], [[6]]], 'a chunked batch gives the same records')
  t.same(chunked.chunks.map(c => c.more), [undefined, undefined], 'one chunk out per batch')
  const open = await runWords(['glom'], JSON.stringify({ time: 1000, interval: 1000, records: [1, 2], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['glom'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  // glom takes any record; only a line that is not a batch is bad
  const bad = await runWords(['glom'], JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\nnot a batch\n')
  t.equal(bad.code, 65, 'a line that is not a batch: exit 65')
  t.match(bad.stderr, /^dstream glom: after batch 1000: not JSON.*: "not a batch"/, 'names operator, batch time and line')
  const file = path.join(t.testdir(), 'dead.ndjson')
  const skipped = await runWords(['glom', '--on-bad-input', 'skip', '--dead-letter', file],
    JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\nnot a batch\n' + JSON.stringify({ time: 2000, interval: 1000, records: [2] }) + '\n')
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(parseOutput(skipped.stdout).batches.map(b => b.records), [[[1]], [[2]]], 'the stream flows')
  t.same(fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l).line), ['not a batch'], 'the dead-letter file has the line')
})

t.test('usage errors', async t => {
  const extra = await runWords(['glom', 'x'], '')
  t.equal(extra.code, 2, 'an argument: exit 2')
  t.match(extra.stderr, /^dstream glom: unexpected argument 'x'\nUsage: dstream glom \[options\]/)
  const unknown = await runWords(['glom', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream glom: Unknown argument: nope\n/)
})
