// full-outer-join's shape; what the joins share is tested in join.test.ts.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords } from '../helpers.js'

// Spark's BasicOperationsSuite pairs s1.map(x => (x, 1)) with s2.map(x => (x, "x"))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const exes = (batches: string[][]) => batches.map(b => b.map(x => [x, 'x']))

t.test('cases', async t => {
  const dir = t.testdir()
  fs.writeFileSync(`${dir}/right`, batchLines(exes([['a', 'b'], ['b', ''], [], ['']])))
  fs.writeFileSync(`${dir}/one`, batchLines(exes([['a', 'b']])))
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "fullOuterJoin": Some(x) is x, None is null; the input's keys first
    ["Spark's fullOuterJoin", ['--with', `${dir}/right`], ones([['a', 'b'], ['a', ''], [''], []]),
      [[['a', [1, 'x']], ['b', [1, 'x']]], [['a', [1, null]], ['', [1, 'x']], ['b', [null, 'x']]], [['', [1, null]]], [['', [null, 'x']]]]],
    ['several values on a side', ['--with', `${dir}/one`], [[['a', 1], ['c', 2], ['c', 3]]], [[['a', [1, 'x']], ['c', [2, null]], ['c', [3, null]], ['b', [null, 'x']]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['full-outer-join', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir({ 'right.json': '[[["k", 1], "x"], [{"b": 1, "a": 2}, "y"]]' })
  const input = [[[['k', 1], 1], [{ a: 2, b: 1 }, 2], ['k', 3]], []]
  const whole = await runTable(['full-outer-join', '--static', `${dir}/right.json`], input)
  const chunked = await runTable(['full-outer-join', '--static', `${dir}/right.json`], input, { chunk: 1 })
  t.same(whole.records, [[[['k', 1], [1, 'x']], [{ a: 2, b: 1 }, [2, 'y']], ['k', [3, null]]], [[['k', 1], [null, 'x']], [{ b: 1, a: 2 }, [null, 'y']]]],
    'array and object keys by value; an empty batch gives the right side alone')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
})

t.test('bad input and usage', async t => {
  const dir = t.testdir({ 'odd.json': '[["a", 1], 3]' })
  const bad = await runTable(['full-outer-join', '--static', `${dir}/odd.json`], [[['a', 1]]])
  t.equal(bad.code, 65, 'a dataset record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream full-outer-join: batch 1000: expected a \[key, value\] pair from --static .*odd.json: 3\n/)
  const neither = await runWords(['full-outer-join'], '')
  t.equal(neither.code, 2)
  t.match(neither.stderr, /^dstream full-outer-join: needs --with STREAM or --static FILE\n/)
})
