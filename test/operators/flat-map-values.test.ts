import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "flatMapValues": reduceByKey(_ + _).flatMapValues(x => Seq(x, x + 10))
    ['Spark: flatMapValues(x => Seq(x, x + 10))', ['flat-map-values', 'x => [x, x + 10]'],
      [[['a', 2], ['b', 1]], [['', 2]], []],
      [[['a', 2], ['a', 12], ['b', 1], ['b', 11]], [['', 2], ['', 12]], []]],
    ['an expression in _', ['flat-map-values', '_.split(",")'], [[['fruit', 'apple,pear'], ['veg', 'leek']]], [[['fruit', 'apple'], ['fruit', 'pear'], ['veg', 'leek']]]],
    ['an empty array drops the pair', ['flat-map-values', 'v => v'], [[['a', []], ['b', [1]]]], [[['b', 1]]]],
    ['any iterable: a Set', ['flat-map-values', 'v => new Set(v)'], [[['k', [1, 1, 2]]]], [[['k', 1], ['k', 2]]]],
    ['elements that are arrays stay whole', ['flat-map-values', 'v => v'], [[['k', [[1, 2], [3]]]]], [[['k', [1, 2]], ['k', [3]]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['flat-map-values', '[_]'], [[], [['a', 1]], []])
  t.same(empty.records, [[], [['a', 1]], []], 'empty batches stay, as batches')
  const input = [[['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5]]]
  const whole = await runTable(['flat-map-values', 'v => [v, -v]'], input)
  const chunked = await runTable(['flat-map-values', 'v => [v, -v]'], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'a chunked batch gives the same records')
  t.same(whole.records, [[['a', 1], ['a', -1], ['b', 2], ['b', -2], ['c', 3], ['c', -3], ['d', 4], ['d', -4], ['e', 5], ['e', -5]]])
  t.equal(chunked.chunks.length, 3, 'chunk-wise: one chunk out for each in')
  const keys = await runTable(['flat-map-values', 'v => [v, v]'], [[[['x', 1], 1], [{ a: 1 }, 2]]])
  t.same(keys.records, [[[['x', 1], 1], [['x', 1], 1], [{ a: 1 }, 2], [{ a: 1 }, 2]]], 'array and object keys pass unchanged')
  const open = await runWords(['flat-map-values', 'v => [v]'], JSON.stringify({ time: 1000, interval: 1000, records: [['a', 1]], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.same(open.stdout.trim().split('\n').map(l => JSON.parse(l)), [{ time: 1000, interval: 1000, records: [['a', 1]], more: true }], 'the chunk that came went on as it came, and the batch is never closed')
  const none = await runTable(['flat-map-values', '[_]'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['flat-map-values', '[_]'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream flat-map-values: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', 1]]], 'batches before it came out')

  const notArray = await runTable(['flat-map-values', 'v => v'], [[['a', 'abc']]])
  t.equal(notArray.code, 65, 'FN returning a string: exit 65')
  t.match(notArray.stderr, /^dstream flat-map-values: batch 1000: FN must return an array, it returned a string for: \["a","abc"\]\n/)

  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable(['flat-map-values', 'v => v', '--on-bad-input', 'skip', '--dead-letter', file], [[['a', [1]], 'x', ['b', 7], ['c', [2, 3]]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['a', 1], ['c', 2], ['c', 3]]], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['flat-map-values', 1000, 'x'], ['flat-map-values', 1000, ['b', 7]]], 'the dead-letter file has the records')

  const threw = await runTable(['flat-map-values', '_.split(",")'], [[['a', 'x'], ['b', 7]]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /dstream flat-map-values: batch 1000: function threw TypeError.*\n\s+on record \["b",7\]/, 'names operator, batch time and the whole pair')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable(['flat-map-values', '_.split(",")', '--on-error', 'skip', '--dead-letter', file2], [[['a', 'x,y'], ['b', 7], ['c', 'z']]])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [[['a', 'x'], ['a', 'y'], ['c', 'z']]], 'the failing pair is dropped')
  t.same(deadLetters(file2).map(d => d.record), [['b', 7]], 'and set aside')
})

t.test('usage errors', async t => {
  const missing = await runWords(['flat-map-values'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream flat-map-values: missing FN\nUsage: dstream flat-map-values FN \[options\]/)
  const unknown = await runWords(['flat-map-values', '[_]', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream flat-map-values: Unknown argument: nope\n/)
})
