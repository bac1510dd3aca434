import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "flatMap": input Seq(1 to 4, 5 to 8, 9 to 12), flatMap(x => Seq(x, x * 2))
    ['Spark: flatMap(x => Seq(x, x * 2))', ['flat-map', 'x => [x, x * 2]'],
      [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]],
      [[1, 2, 2, 4, 3, 6, 4, 8], [5, 10, 6, 12, 7, 14, 8, 16], [9, 18, 10, 20, 11, 22, 12, 24]]],
    ['the words of lines', ['flat-map', '_.split(" ")'], [['to be or', 'not']], [['to', 'be', 'or', 'not']]],
    ['an empty array drops the record', ['flat-map', 'r => r'], [[[], [1], []]], [[1]]],
    ['any iterable: a Set', ['flat-map', 'r => new Set(r)'], [[[1, 1, 2]]], [[1, 2]]],
    ['elements that are arrays stay whole', ['flat-map', 'r => r'], [[[[1, 2], [3]]]], [[[1, 2], [3]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['flat-map', '[_]'], [[], [1], []])
  t.same(empty.records, [[], [1], []], 'empty batches stay, as batches')
  const whole = await runTable(['flat-map', 'x => [x, x]'], [[1, 2, 3, 4, 5]])
  const chunked = await runTable(['flat-map', 'x => [x, x]'], [[1, 2, 3, 4, 5]], { chunk: 2 })
  t.same(chunked.records, whole.records, 'a chunked batch gives the same records')
  t.same(whole.records, [[1, 1, 2, 2, 3, 3, 4, 4, 5, 5]])
  t.equal(chunked.chunks.length, 3, 'chunk-wise: one chunk out for each in')
  const objects = await runTable(['flat-map', 'r => [r.a, r]'], [[{ a: [1], b: { c: 2 } }]])
  t.same(objects.records, [[[1], { a: [1], b: { c: 2 } }]], 'arrays and objects come out whole')
  const open = await runWords(['flat-map', 'x => [x]'], JSON.stringify({ time: 1000, interval: 1000, records: [1, 2], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.same(open.stdout.trim().split('\n').map(l => JSON.parse(l)), [{ time: 1000, interval: 1000, records: [1, 2], more: true }], 'the chunk that came went on as it came, and the batch is never closed')
  const none = await runTable(['flat-map', '[_]'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['flat-map', 'r => r'], [[[1]], [[2], 'abc', [3]]])
  t.equal(bad.code, 65, 'FN returning a string: exit 65')
  t.match(bad.stderr, /^dstream flat-map: batch 2000: FN must return an array, it returned a string for: "abc"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[1]], 'batches before it came out')
  const number = await runTable(['flat-map', 'r => r'], [[7]])
  t.match(number.stderr, /it returned 7 for: 7\n/, 'a number is not an array either')

  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable(['flat-map', 'r => r', '--on-bad-input', 'skip', '--dead-letter', file], [[[1], 'abc', null, [2, 3]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[1, 2, 3]], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['flat-map', 1000, 'abc'], ['flat-map', 1000, null]], 'the dead-letter file has the records')

  const threw = await runTable(['flat-map', '_.split(" ")'], [['a b', 7]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /dstream flat-map: batch 1000: function threw TypeError.*\n\s+on record 7\n/, 'names operator, batch time and record')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable(['flat-map', '_.split(" ")', '--on-error', 'skip', '--dead-letter', file2], [['a b', 7, 'c']])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [['a', 'b', 'c']], 'the failing record is dropped')
  t.same(deadLetters(file2).map(d => d.record), [7], 'and set aside')
})

t.test('usage errors', async t => {
  const missing = await runWords(['flat-map'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream flat-map: missing FN\nUsage: dstream flat-map FN \[options\]/)
  const unknown = await runWords(['flat-map', '[_]', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream flat-map: Unknown argument: nope\n/)
  const broken = await runWords(['flat-map', '=>'], '')
  t.equal(broken.code, 2, 'a function that does not compile: exit 2')
})
