import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "reduce": Seq(1 to 4, 5 to 8, 9 to 12), reduce(_ + _) → Seq(Seq(10), Seq(26), Seq(42))
    ['Spark: reduce(_ + _)', ['reduce', '(a, b) => a + b'], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[10], [26], [42]]],
    ['sum', ['reduce', 'sum'], [[1, 2, 3.5]], [[6.5]]],
    ['min', ['reduce', 'min'], [[3, 1, 2], ['b', 'a']], [[1], ['a']]],
    ['max', ['reduce', 'max'], [[3, 9, 4]], [[9]]],
    ['concat of strings', ['reduce', 'concat'], [['a', 'b', 'c']], [['abc']]],
    ['concat of arrays', ['reduce', 'concat'], [[[1], [2, 3], []]], [[[1, 2, 3]]]],
    ['count', ['reduce', 'count'], [['x', 'y', 'z'], ['x']], [[3], [1]]],
    ['folded in order', ['reduce', '(a, b) => a + "," + b'], [['a', 'b', 'c']], [['a,b,c']]],
    ['objects', ['reduce', '(a, b) => ({ n: a.n + b.n })'], [[{ n: 1 }, { n: 2 }]], [[{ n: 3 }]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['reduce', 'sum'], [[], [1], []])
  t.same(empty.records, [[], [1], []], 'an empty batch gives an empty batch, as Spark')
  const one = await runTable(['reduce', '() => { throw new Error("called") }'], [['only']])
  t.same(one.records, [['only']], 'one record is the result, FN is not called')
  const input = [[1, 2, 3, 4, 5, 6, 7]]
  const whole = await runTable(['reduce', '(a, b) => a * 10 + b'], input)
  const chunked = await runTable(['reduce', '(a, b) => a * 10 + b'], input, { chunk: 2 })
  t.same(whole.records, [[1234567]])
  t.same(chunked.records, whole.records, 'a chunked batch gives the same result, in order')
  t.equal(chunked.chunks.length, 1, 'folded across chunks, one chunk out')
  const apart = await runTable(['reduce', 'sum'], [[1, 2], [3]])
  t.same(apart.records, [[3], [3]], 'each batch is reduced on its own')
  const open = await runWords(['reduce', 'sum'], JSON.stringify({ time: 1000, interval: 1000, records: [1, 2], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not reduced')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['reduce', 'sum'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['reduce', 'sum'], [[1], [2, 'x', 3]])
  t.equal(bad.code, 65, 'sum of a string: exit 65')
  t.match(bad.stderr, /^dstream reduce: batch 2000: sum needs numbers, this record is: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[1]], 'batches before it came out')
  const minObject = await runTable(['reduce', 'min'], [[{ a: 1 }]])
  t.match(minObject.stderr, /^dstream reduce: batch 1000: min needs numbers or strings, this record is: \{"a":1\}\n/)

  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable(['reduce', 'sum', '--on-bad-input', 'skip', '--dead-letter', file], [['x', 2, null, 3], ['y']])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[5], []], 'the rest of the batch flows; a batch of only bad records is empty')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['reduce', 1000, 'x'], ['reduce', 1000, null], ['reduce', 2000, 'y']], 'the dead-letter file has the records')

  const threw = await runTable(['reduce', '(a, b) => a + b.n'], [[1, { n: 2 }, null]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream reduce: batch 1000: function threw TypeError.*\n\s+on arguments \[3,null\]\n/, 'names operator, batch time and the arguments')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable(['reduce', '(a, b) => a + b.n', '--on-error', 'skip', '--dead-letter', file2], [[1, { n: 2 }, null, { n: 4 }]])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [[7]], 'the failing record is left out of the fold')
  t.same(deadLetters(file2).map(d => d.record), [[3, null]], 'and set aside with the accumulator')
})

t.test('usage errors', async t => {
  const missing = await runWords(['reduce'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream reduce: missing FN\nUsage: dstream reduce FN \[options\]/)
  const unknown = await runWords(['reduce', 'sum', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream reduce: Unknown argument: nope\n/)
  const broken = await runWords(['reduce', '(a, b) =>'], '')
  t.equal(broken.code, 2, 'a function that does not compile: exit 2')
  t.match(broken.stderr, /^dstream reduce: reduce function does not compile/)
})
