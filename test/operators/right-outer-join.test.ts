// right-outer-join's shape; what the joins share is tested in join.test.ts.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords } from '../helpers.js'

// Spark's BasicOperationsSuite pairs s1.map(x => (x, 1)) with s2.map(x => (x, "x"))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const exes = (batches: string[][]) => batches.map(b => b.map(x => [x, 'x']))

t.test('cases', async t => {
  const dir = t.testdir({ 'owners.json': '[["web1", "ann"], ["web2", "bob"]]' })
  fs.writeFileSync(`${dir}/right`, batchLines(exes([['a', 'b'], ['b', ''], [], ['']])))
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "rightOuterJoin": Some(v) is v, None is null; the input's keys first
    ["Spark's rightOuterJoin", ['--with', `${dir}/right`], ones([['a', 'b'], ['a', ''], [''], []]),
      [[['a', [1, 'x']], ['b', [1, 'x']]], [['', [1, 'x']], ['b', [null, 'x']]], [], [['', [null, 'x']]]]],
    ['a static dataset comes out whole every batch', ['--static', `${dir}/owners.json`], [[['web2', 7], ['web3', 1]], []],
      [[['web2', [7, 'bob']], ['web1', [null, 'ann']]], [['web1', [null, 'ann']], ['web2', [null, 'bob']]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['right-outer-join', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir({ 'right.json': '[["a", "x"], ["b", "y"], ["a", "z"]]' })
  const input = [[['a', 1], ['c', 2], ['a', 3]], []]
  const whole = await runTable(['right-outer-join', '--static', `${dir}/right.json`], input)
  const chunked = await runTable(['right-outer-join', '--static', `${dir}/right.json`], input, { chunk: 2 })
  t.same(whole.records, [[['a', [1, 'x']], ['a', [1, 'z']], ['a', [3, 'x']], ['a', [3, 'z']], ['b', [null, 'y']]], [['a', [null, 'x']], ['a', [null, 'z']], ['b', [null, 'y']]]],
    'every pair of a key on both sides, the right side alone with null')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
})

t.test('bad input and usage', async t => {
  const dir = t.testdir({ 'odd.json': '[["a", 1], 3]' })
  const bad = await runTable(['right-outer-join', '--static', `${dir}/odd.json`], [[['a', 1]]])
  t.equal(bad.code, 65, 'a dataset record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream right-outer-join: batch 1000: expected a \[key, value\] pair from --static .*odd.json: 3\n/)
  const both = await runWords(['right-outer-join', '--with', 'package.json', '--static', 'package.json'], '')
  t.equal(both.code, 2)
  t.match(both.stderr, /^dstream right-outer-join: takes --with STREAM or --static FILE, not both\nUsage: /)
})
