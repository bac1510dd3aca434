import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "reduceByKey": Seq("a", "a", "b"), Seq("", ""), Seq() mapped to (x, 1), reduceByKey(_ + _)
    ['Spark: reduceByKey(_ + _)', ['reduce-by-key', '(a, b) => a + b'],
      [[['a', 1], ['a', 1], ['b', 1]], [['', 1], ['', 1]], []],
      [[['a', 2], ['b', 1]], [['', 2]], []]],
    ['sum', ['reduce-by-key', 'sum'], [[['a', 1], ['b', 1], ['a', 1]]], [[['a', 2], ['b', 1]]]],
    ['min and max', ['reduce-by-key', 'min'], [[['x', 3], ['x', 1], ['y', 'b'], ['y', 'a']]], [[['x', 1], ['y', 'a']]]],
    ['max', ['reduce-by-key', 'max'], [[['x', 3], ['y', 1], ['x', 7]]], [[['x', 7], ['y', 1]]]],
    ['concat', ['reduce-by-key', 'concat'], [[['k', [1]], ['k', [2]], ['s', 'a'], ['s', 'b']]], [[['k', [1, 2]], ['s', 'ab']]]],
    ['count', ['reduce-by-key', 'count'], [[['k', 'x'], ['k', 'y'], ['j', 'z']]], [[['k', 2], ['j', 1]]]],
    ['folded in order', ['reduce-by-key', '(a, b) => a + b'], [[['k', 'a'], ['k', 'b'], ['k', 'c']]], [[['k', 'abc']]]],
    ['--partitions is accepted', ['reduce-by-key', 'sum', '--partitions', '4'], [[['a', 1], ['a', 2]]], [[['a', 3]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['reduce-by-key', 'sum'], [[], [['a', 1]], []])
  t.same(empty.records, [[], [['a', 1]], []], 'an empty batch gives an empty batch')
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['a', 5], ['b', 6], ['d', 7]]]
  const whole = await runTable(['reduce-by-key', 'sum'], input)
  const chunked = await runTable(['reduce-by-key', 'sum'], input, { chunk: 2 })
  t.same(whole.records, [[['a', 9], ['b', 8], ['c', 4], ['d', 7]]])
  t.same(chunked.records, whole.records, 'a chunked batch gives the same result')
  t.equal(chunked.chunks.length, 1, 'reduced across chunks, one chunk out')
  const apart = await runTable(['reduce-by-key', 'sum'], [[['a', 1]], [['a', 2]]])
  t.same(apart.records, [[['a', 1]], [['a', 2]]], 'each batch is reduced on its own')
  const keys = await runTable(['reduce-by-key', 'sum'], [[[['x', 1], 1], [{ a: 1, b: 2 }, 1], [['x', 1], 2], [{ b: 2, a: 1 }, 2], [1, 5], ['1', 6]]])
  t.same(keys.records, [[[['x', 1], 3], [{ a: 1, b: 2 }, 3], [1, 5], ['1', 6]]], 'array and object keys compare by value; 1 and "1" differ')
  const open = await runWords(['reduce-by-key', 'sum'], JSON.stringify({ time: 1000, interval: 1000, records: [['a', 1], ['a', 2]], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not reduced')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['reduce-by-key', 'sum'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['reduce-by-key', 'sum'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream reduce-by-key: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', 1]]], 'batches before it came out')
  const notNumber = await runTable(['reduce-by-key', 'sum'], [[['a', 1], ['a', 'two']]])
  t.equal(notNumber.code, 65, 'sum of a string: exit 65')
  t.match(notNumber.stderr, /^dstream reduce-by-key: batch 1000: sum needs numbers, this value is "two": \["a","two"\]\n/)

  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable(['reduce-by-key', 'sum', '--on-bad-input', 'skip', '--dead-letter', file], [[['a', 1], 'x', ['a', 'two'], ['a', 3]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['a', 4]]], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['reduce-by-key', 1000, 'x'], ['reduce-by-key', 1000, ['a', 'two']]], 'the dead-letter file has the records')

  const threw = await runTable(['reduce-by-key', '(a, b) => a + b.n'], [[['k', 1], ['k', null]]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream reduce-by-key: batch 1000: function threw TypeError.*\n\s+on arguments \[1,null\]\n/, 'names operator, batch time and the arguments')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable(['reduce-by-key', '(a, b) => a + b.n', '--on-error', 'skip', '--dead-letter', file2], [[['k', 1], ['k', null], ['k', { n: 4 }]]])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [[['k', 5]]], 'the failing value is left out of the fold')
  t.same(deadLetters(file2).map(d => d.record), [[1, null]], 'and set aside with the accumulator')
})

t.test('usage errors', async t => {
  const missing = await runWords(['reduce-by-key'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream reduce-by-key: missing FN\nUsage: dstream reduce-by-key FN \[options\]/)
  const unknown = await runWords(['reduce-by-key', 'sum', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream reduce-by-key: Unknown argument: nope\n/)
  const broken = await runWords(['reduce-by-key', 'sun('], '')
  t.equal(broken.code, 2, 'a function that does not compile: exit 2')
})
