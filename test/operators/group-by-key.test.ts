import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "groupByKey": Seq("a", "a", "b"), Seq("", ""), Seq() mapped to (x, 1)
    ['Spark: groupByKey', ['group-by-key'],
      [[['a', 1], ['a', 1], ['b', 1]], [['', 1], ['', 1]], []],
      [[['a', [1, 1]], ['b', [1]]], [['', [1, 1]]], []]],
    ['values in arrival order, keys first-seen', ['group-by-key'], [[['b', 1], ['a', 2], ['b', 3], ['a', 4]]], [[['b', [1, 3]], ['a', [2, 4]]]]],
    ['--partitions is accepted and ignored', ['group-by-key', '--partitions', '4'], [[['a', 1], ['a', 2]]], [[['a', [1, 2]]]]],
    ['values of any shape', ['group-by-key'], [[['k', [1]], ['k', { v: 2 }], ['k', null]]], [[['k', [[1], { v: 2 }, null]]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['group-by-key'], [[], [['a', 1]], []])
  t.same(empty.records, [[], [['a', [1]]], []], 'an empty batch gives an empty batch')
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['a', 5], ['b', 6], ['d', 7]]]
  const whole = await runTable(['group-by-key'], input)
  const chunked = await runTable(['group-by-key'], input, { chunk: 2 })
  t.same(whole.records, [[['a', [1, 3, 5]], ['b', [2, 6]], ['c', [4]], ['d', [7]]]])
  t.same(chunked.records, whole.records, 'a chunked batch gives the same groups')
  t.equal(chunked.chunks.length, 1, 'grouped across chunks, one chunk out')
  const apart = await runTable(['group-by-key'], [[['a', 1]], [['a', 2]]])
  t.same(apart.records, [[['a', [1]]], [['a', [2]]]], 'groups start again each batch')
  const keys = await runTable(['group-by-key'], [[[['x', 1], 'a'], [{ a: 1, b: 2 }, 1], [['x', 1], 'b'], [{ b: 2, a: 1 }, 2], [1, 'n'], ['1', 's']]])
  t.same(keys.records, [[[['x', 1], ['a', 'b']], [{ a: 1, b: 2 }, [1, 2]], [1, ['n']], ['1', ['s']]]], 'array and object keys compare by value; 1 and "1" differ')
  const open = await runWords(['group-by-key'], JSON.stringify({ time: 1000, interval: 1000, records: [['a', 1], ['a', 2]], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, '', 'the partial batch is dropped, not grouped')
  t.match(open.stderr, /input ended inside batch 1000 .*partial batch is dropped/)
  const none = await runTable(['group-by-key'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const bad = await runTable(['group-by-key'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream group-by-key: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', [1]]]], 'batches before it came out')
  const file = path.join(t.testdir(), 'dead.ndjson')
  const skipped = await runTable(['group-by-key', '--on-bad-input', 'skip', '--dead-letter', file], [[['a', 1], 'x', ['a', 2, 3], ['a', 4]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['a', [1, 4]]]], 'the rest of the batch flows')
  t.same(fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l)).map(d => [d.operator, d.time, d.record]),
    [['group-by-key', 1000, 'x'], ['group-by-key', 1000, ['a', 2, 3]]], 'the dead-letter file has the records')
})

t.test('usage errors', async t => {
  const extra = await runWords(['group-by-key', 'x'], '')
  t.equal(extra.code, 2, 'an argument: exit 2')
  t.match(extra.stderr, /^dstream group-by-key: unexpected argument 'x'\nUsage: dstream group-by-key \[options\]/)
  const unknown = await runWords(['group-by-key', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream group-by-key: Unknown argument: nope\n/)
})
