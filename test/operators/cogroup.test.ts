// cogroup's shape; what the joins share is tested in join.test.ts.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords } from '../helpers.js'

// Spark's BasicOperationsSuite pairs s1.map(x => (x, 1)) with s2.map(x => (x, "x"))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const exes = (batches: string[][]) => batches.map(b => b.map(x => [x, 'x']))

t.test('cases', async t => {
  const dir = t.testdir({ 'tags.json': '[["a", "red"], ["b", "blue"], ["a", "green"]]' })
  fs.writeFileSync(`${dir}/right`, batchLines(exes([['a', 'a', 'b'], ['b', ''], [], []])))
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "cogroup"; the input's keys first
    ["Spark's cogroup", ['--with', `${dir}/right`], ones([['a', 'a', 'b'], ['a', ''], [''], []]),
      [[['a', [[1, 1], ['x', 'x']]], ['b', [[1], ['x']]]], [['a', [[1], []]], ['', [[1], ['x']]], ['b', [[], ['x']]]], [['', [[1], []]]], []]],
    ['with a static dataset', ['--static', `${dir}/tags.json`], [[['b', 1], ['c', 2], ['b', 3]]],
      [[['b', [[1, 3], ['blue']]], ['c', [[2], []]], ['a', [[], ['red', 'green']]]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['cogroup', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir()
  fs.writeFileSync(`${dir}/right`, batchLines([[['a', 'x']], [], [['b', 'y'], ['a', 'z']]], { chunk: 1 }))
  const input = [[['a', 1], ['a', 2], ['b', 3]], [], []]
  const whole = await runTable(['cogroup', '--with', `${dir}/right`], input)
  const chunked = await runTable(['cogroup', '--with', `${dir}/right`], input, { chunk: 1 })
  t.same(whole.records, [[['a', [[1, 2], ['x']]], ['b', [[3], []]]], [], [['b', [[], ['y']]], ['a', [[], ['z']]]]],
    'both sides empty: an empty batch; the right side alone: its keys in its order')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
})

t.test('bad input and usage', async t => {
  const dir = t.testdir()
  fs.writeFileSync(`${dir}/right`, batchLines([[['a', 'x']], [['b']]]))
  const bad = await runTable(['cogroup', '--with', `${dir}/right`], [[['a', 1]], [['b', 2]]])
  t.equal(bad.code, 65, 'a --with record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream cogroup: batch 2000: expected a \[key, value\] pair from the --with stream: \["b"\]\n/)
  t.same(bad.records, [[['a', [[1], ['x']]]]], 'batches before it came out')
  const neither = await runWords(['cogroup', '--max-wait', '1s'], '')
  t.equal(neither.code, 2)
  t.match(neither.stderr, /^dstream cogroup: needs --with STREAM or --static FILE\n/)
})
