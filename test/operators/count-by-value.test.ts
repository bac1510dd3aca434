import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseOutput, runTable, runWords } from '../helpers.js'

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "countByValue" (compared as sets there; here in first-seen order)
    ['Spark: countByValue', ['count-by-value'], [[1], [1, 1, 1], [1, 2], [1, 1, 2, 2]], [[[1, 1]], [[1, 3]], [[1, 1], [2, 1]], [[1, 2], [2, 2]]]],
    ['words, first-seen order', ['count-by-value'], [['b', 'a', 'b', 'c', 'a', 'b']], [[['b', 3], ['a', 2], ['c', 1]]]],
    ['1 and "1" differ, null is a value', ['count-by-value'], [[1, '1', null, 1, null]], [[[1, 2], ['1', 1], [null, 2]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['count-by-value'], [[], ['a'], []])
  t.same(empty.records, [[], [['a', 1]], []], 'an empty batch gives an empty batch')
  const input = [['a', 'b', 'a', 'c', 'a', 'b', 'd']]
  const whole = await runTable(['count-by-value'], input)
  const chunked = await runTable(['count-by-value'], input, { chunk: 2 })
  t.same(whole.records, [[['a', 3], ['b', 2], ['c', 1], ['d', 1]]])
  t.same(chunked.records, whole.records, 'a chunked batch gives the same counts')
  t.equal(chunked.chunks.length, 1, 'counted across chunks, one chunk out')
  const apart = await runTable(['count-by-value'], [['a', 'a'], ['a']])
  t.same(apart.records, [[['a', 2]], [['a', 1]]], 'counts start again each batch')
  const values = await runTable(['count-by-value'], [[[1, 2], { a: 1, b: 2 }, [1, 2], { b: 2, a: 1 }, [2, 1]]])
  t.same(values.records, [[[[1, 2], 2], [{ a: 1, b: 2 }, 2], [[2, 1], 1]]], 'array and object values compare by value')
  const open = await runWords(['count-by-value'], JSON.stringify({ time: 1000, interval: 1000, records: ['x', 'x'], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not counted')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['count-by-value'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  // any record is a value; only a line that is not a batch is bad
  const bad = await runWords(['count-by-value'], JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\n[1]\n')
  t.equal(bad.code, 65, 'a line that is not a batch: exit 65')
  t.match(bad.stderr, /^dstream count-by-value: after batch 1000: not a batch: expected a JSON object.*: "\[1\]"/, 'names operator, batch time and line')
  const file = path.join(t.testdir(), 'dead.ndjson')
  const skipped = await runWords(['count-by-value', '--on-bad-input', 'skip', '--dead-letter', file],
    JSON.stringify({ time: 1000, interval: 1000, records: [1] }) + '\n[1]\n' + JSON.stringify({ time: 2000, interval: 1000, records: [2, 2] }) + '\n')
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(parseOutput(skipped.stdout).batches.map(b => b.records), [[[1, 1]], [[2, 2]]], 'the stream flows')
  t.same(fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l).line), ['[1]'], 'the dead-letter file has the line')
})

t.test('usage errors', async t => {
  const extra = await runWords(['count-by-value', 'x'], '')
  t.equal(extra.code, 2, 'an argument: exit 2')
  t.match(extra.stderr, /^dstream count-by-value: unexpected argument 'x'\nUsage: dstream count-by-value \[options\]/)
  const unknown = await runWords(['count-by-value', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream count-by-value: Unknown argument: nope\n/)
})
