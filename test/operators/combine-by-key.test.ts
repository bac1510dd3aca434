import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))
// Spark's classic combineByKey: a [sum, count] per key, for an average
const AVERAGE = ['combine-by-key', 'v => [v, 1]', '(c, v) => [c[0] + v, c[1] + 1]', '(a, b) => [a[0] + b[0], a[1] + b[1]]']
const NEVER = '() => { throw new Error("MERGE-COMBINERS called") }'

t.test('cases', async t => {
  // Spark's BasicOperationsSuite has no combineByKey row; these follow its groupByKey / reduceByKey input
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['Spark suite input, counted', ['combine-by-key', '_ => 1', '(c, v) => c + v', '(a, b) => a + b'],
      [[['a', 1], ['a', 1], ['b', 1]], [['', 1], ['', 1]], []],
      [[['a', 2], ['b', 1]], [['', 2]], []]],
    ['[sum, count] for an average', AVERAGE, [[['a', 4], ['b', 1], ['a', 2]]], [[['a', [6, 2]], ['b', [1, 1]]]]],
    ['combiner of another type: distinct values', ['combine-by-key', '[_]', '(c, v) => c.includes(v) ? c : [...c, v]', '(a, b) => [...new Set([...a, ...b])]'],
      [[['k', 'x'], ['k', 'y'], ['k', 'x'], ['j', 'z']]], [[['k', ['x', 'y']], ['j', ['z']]]]],
    ['values folded in order', ['combine-by-key', 'v => "<" + v', '(c, v) => c + v', NEVER], [[['k', 'a'], ['k', 'b'], ['k', 'c']]], [[['k', '<abc']]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(AVERAGE, [[], [['a', 1]], []])
  t.same(empty.records, [[], [['a', [1, 1]]], []], 'an empty batch gives an empty batch')
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['a', 5], ['b', 6], ['d', 7]]]
  const words = ['combine-by-key', 'v => [v]', '(c, v) => [...c, v]', NEVER]
  const whole = await runTable(words, input)
  const chunked = await runTable(words, input, { chunk: 2 })
  t.same(whole.records, [[['a', [1, 3, 5]], ['b', [2, 6]], ['c', [4]], ['d', [7]]]])
  t.same(chunked.records, whole.records, 'a chunked batch gives the same combiners: MERGE-VALUE across chunks, MERGE-COMBINERS never called')
  t.equal(chunked.chunks.length, 1, 'combined across chunks, one chunk out')
  const apart = await runTable(AVERAGE, [[['a', 1]], [['a', 2]]])
  t.same(apart.records, [[['a', [1, 1]]], [['a', [2, 1]]]], 'combiners start again each batch')
  const keys = await runTable(AVERAGE, [[[['x', 1], 1], [{ a: 1, b: 2 }, 1], [['x', 1], 2], [{ b: 2, a: 1 }, 2]]])
  t.same(keys.records, [[[['x', 1], [3, 2]], [{ a: 1, b: 2 }, [3, 2]]]], 'array and object keys compare by value')
  const open = await runWords(AVERAGE, JSON.stringify({ time: 1000, interval: 1000, records: [['a', 1], ['a', 2]], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not combined')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(AVERAGE, [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(AVERAGE, [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream combine-by-key: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', [1, 1]]]], 'batches before it came out')
  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const skipped = await runTable([...AVERAGE, '--on-bad-input', 'skip', '--dead-letter', file], [[['a', 1], 'x', ['a', 2]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['a', [3, 2]]]], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['combine-by-key', 1000, 'x']], 'the dead-letter file has the record')

  const create = ['combine-by-key', 'v => [v.n]', '(c, v) => [...c, v.n]', '(a, b) => a.concat(b)']
  const createThrew = await runTable(create, [[['a', null]]])
  t.equal(createThrew.code, 65, 'CREATE throws: exit 65')
  t.match(createThrew.stderr, /^dstream combine-by-key: batch 1000: function threw TypeError.*\n\s+on record null\n/, 'names operator, batch time and value')
  const mergeThrew = await runTable(create, [[['a', { n: 1 }], ['a', null]]])
  t.equal(mergeThrew.code, 65, 'MERGE-VALUE throws: exit 65')
  t.match(mergeThrew.stderr, /on arguments \[\[1\],null\]\n/, 'names the combiner and the value')
  const file2 = path.join(dir, 'dead2.ndjson')
  const onError = await runTable([...create, '--on-error', 'skip', '--dead-letter', file2], [[['a', null], ['a', { n: 1 }], ['a', null], ['a', { n: 2 }]]])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [[['a', [1, 2]]]], 'a failed CREATE leaves the key to the next value; a failed MERGE-VALUE keeps the combiner')
  t.same(deadLetters(file2).map(d => d.record), [null, [[1], null]], 'both set aside')
})

t.test('usage errors', async t => {
  const missing = await runWords(['combine-by-key', 'v => [v]', '(c, v) => c'], '')
  t.equal(missing.code, 2, 'missing MERGE-COMBINERS: exit 2')
  t.match(missing.stderr, /^dstream combine-by-key: missing MERGE-COMBINERS\nUsage: dstream combine-by-key CREATE MERGE-VALUE MERGE-COMBINERS \[options\]/)
  const none = await runWords(['combine-by-key'], '')
  t.match(none.stderr, /^dstream combine-by-key: missing CREATE\n/, 'missing all three: names CREATE')
  const unknown = await runWords([...AVERAGE, '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream combine-by-key: Unknown argument: nope\n/)
  const broken = await runWords(['combine-by-key', 'v => [v]', '(c, v) => c', '(a, b) =>'], '')
  t.equal(broken.code, 2, 'MERGE-COMBINERS that does not compile: exit 2, though it is never called')
  t.match(broken.stderr, /^dstream combine-by-key: MERGE-COMBINERS does not compile: \(a, b\) =>\n/)
})
