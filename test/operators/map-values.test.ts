import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "mapValues": reduceByKey(_ + _).mapValues(_ + 10)
    ['Spark: mapValues(_ + 10)', ['map-values', '_ + 10'], [[['a', 2], ['b', 1]], [['', 2]], []], [[['a', 12], ['b', 11]], [['', 12]], []]],
    ['a function expression', ['map-values', 'u => u.name'], [[[7, { name: 'ann' }], [8, { name: 'bob' }]]], [[[7, 'ann'], [8, 'bob']]]],
    ['values become arrays', ['map-values', '[_, _]'], [[['k', 1]]], [[['k', [1, 1]]]]],
    ['keys repeat, order kept', ['map-values', '_ * 2'], [[['a', 1], ['b', 2], ['a', 3]]], [[['a', 2], ['b', 4], ['a', 6]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['map-values', '_ + 1'], [[], [['a', 1]], []])
  t.same(empty.records, [[], [['a', 2]], []], 'empty batches stay, as batches')
  const input = [[['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]]]
  const whole = await runTable(['map-values', '_ * 10'], input)
  const chunked = await runTable(['map-values', '_ * 10'], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'a chunked batch gives the same records')
  t.same(whole.records, [[['a', 10], ['b', 20], ['c', 30], ['d', 40], ['e', 50]]])
  t.equal(chunked.chunks.length, 3, 'chunk-wise: one chunk out for each in')
  const keys = await runTable(['map-values', '_ + 1'], [[[['x', 1], 1], [{ a: 1, b: 2 }, 2]]])
  t.same(keys.records, [[[['x', 1], 2], [{ a: 1, b: 2 }, 3]]], 'array and object keys pass unchanged')
  const open = await runWords(['map-values', '_ + 1'], JSON.stringify({ time: 1000, interval: 1000, records: [['a', 1]], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.same(open.stdout.trim().split('\n').map(l => JSON.parse(l)), [{ time: 1000, interval: 1000, records: [['a', 2]], more: true }], 'the chunk that came went on as it came, and the batch is never closed')
  const none = await runTable(['map-values', '_'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['map-values', '_ + 1'], [[['a', 1]], [['b', 2], 'x', ['c', 3]]])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream map-values: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', 2]]], 'batches before it came out')

  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable(['map-values', '_ + 1', '--on-bad-input', 'skip', '--dead-letter', file], [[['b', 2], 'x', [1, 2, 3], ['c', 3]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['b', 3], ['c', 4]]], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['map-values', 1000, 'x'], ['map-values', 1000, [1, 2, 3]]], 'the dead-letter file has the records')
  t.match(skipped.stderr, /2 inputs set aside in /, 'and says so')

  const threw = await runTable(['map-values', '_.toUpperCase()'], [[['a', 'x'], ['b', 7]]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /dstream map-values: batch 1000: function threw TypeError.*\n\s+on record \["b",7\]/, 'names operator, batch time and the whole pair')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable(['map-values', '_.toUpperCase()', '--on-error', 'skip', '--dead-letter', file2], [[['a', 'x'], ['b', 7], ['c', 'y']]])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [[['a', 'X'], ['c', 'Y']]], 'the failing pair is dropped')
  t.same(deadLetters(file2).map(d => d.record), [['b', 7]], 'and set aside')
})

t.test('usage errors', async t => {
  const missing = await runWords(['map-values'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream map-values: missing FN\nUsage: dstream map-values FN \[options\]/)
  const unknown = await runWords(['map-values', '_', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream map-values: Unknown argument: nope\n/)
  const broken = await runWords(['map-values', '('], '')
  t.equal(broken.code, 2, 'a function that does not compile: exit 2')
})
