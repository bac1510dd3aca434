// left-outer-join's shape; what the joins share is tested in join.test.ts.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords } from '../helpers.js'

// Spark's BasicOperationsSuite pairs s1.map(x => (x, 1)) with s2.map(x => (x, "x"))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const exes = (batches: string[][]) => batches.map(b => b.map(x => [x, 'x']))

t.test('cases', async t => {
  const dir = t.testdir({ 'black.ndjson': '["zs", true]\n["ww", true]\n' })
  fs.writeFileSync(`${dir}/right`, batchLines(exes([['a', 'b'], ['b', ''], [], ['']])))
  fs.writeFileSync(`${dir}/two`, batchLines([[['a', 'x'], ['a', 'y']]]))
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "leftOuterJoin": Some(w) is w, None is null; keys in first-seen order
    ["Spark's leftOuterJoin", ['--with', `${dir}/right`], ones([['a', 'b'], ['a', ''], [''], []]),
      [[['a', [1, 'x']], ['b', [1, 'x']]], [['a', [1, null]], ['', [1, 'x']]], [['', [1, null]]], []]],
    ['the blacklist (EXAMPLES 6): every click, with true or null; a key\'s values together', ['--static', `${dir}/black.ndjson`],
      [[['zs', '20180808,zs'], ['ls', '20180808,ls'], ['zs', '20180809,zs']]],
      [[['zs', ['20180808,zs', true]], ['zs', ['20180809,zs', true]], ['ls', ['20180808,ls', null]]]]],
    ['several values on both sides: every pair', ['--with', `${dir}/two`], [[['a', 1], ['a', 2]]], [[['a', [1, 'x']], ['a', [1, 'y']], ['a', [2, 'x']], ['a', [2, 'y']]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['left-outer-join', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir({ 'right.json': '[["a", "x"], ["a", "y"]]' })
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4]], [], [['b', 5]]]
  const whole = await runTable(['left-outer-join', '--static', `${dir}/right.json`], input)
  const chunked = await runTable(['left-outer-join', '--static', `${dir}/right.json`], input, { chunk: 1 })
  t.same(whole.records, [[['a', [1, 'x']], ['a', [1, 'y']], ['a', [3, 'x']], ['a', [3, 'y']], ['b', [2, null]], ['c', [4, null]]], [], [['b', [5, null]]]],
    'values of a key together, keys in first-seen order; an empty batch stays empty')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
})

t.test('bad input and usage', async t => {
  const dir = t.testdir({ 'numbers.json': '[1, 2]' })
  const bad = await runTable(['left-outer-join', '--static', `${dir}/numbers.json`], [[['a', 1]]])
  t.equal(bad.code, 65, 'a dataset of no pairs: exit 65')
  t.match(bad.stderr, /^dstream left-outer-join: batch 1000: expected a \[key, value\] pair from --static .*numbers.json: 1\n/)
  const object = await runTable(['left-outer-join', '--static', 'package.json'], [[['a', 1]]])
  t.equal(object.code, 65, 'a dataset that is not a list: exit 65')
  t.match(object.stderr, /^dstream left-outer-join: --static package.json: one JSON value over several lines that is not an array/)
  const neither = await runWords(['left-outer-join'], '')
  t.equal(neither.code, 2)
  t.match(neither.stderr, /^dstream left-outer-join: needs --with STREAM or --static FILE\nUsage: dstream left-outer-join/)
})
