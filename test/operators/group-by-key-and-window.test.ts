import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow, sorted } from '../windows.js'

const bigInput = [
  [['a', 1]], [['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 1], ['b', 1]], [['a', 1]], [],
  [['a', 1]], [['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 1], ['b', 1]], [['a', 1]], []
]
const bigGroupByOutput = [
  [['a', [1]]], [['a', [1, 1]], ['b', [1]]], [['a', [1, 1]], ['b', [1, 1]], ['c', [1]]], [['a', [1, 1]], ['b', [1, 1]], ['c', [1]]], [['a', [1, 1]], ['b', [1]]], [['a', [1]]],
  [['a', [1]]], [['a', [1, 1]], ['b', [1]]], [['a', [1, 1]], ['b', [1, 1]], ['c', [1]]], [['a', [1, 1]], ['b', [1, 1]], ['c', [1]]], [['a', [1, 1]], ['b', [1]]], [['a', [1]]]
]

t.test("Spark's case", async t => {
  // WindowOperationsSuite "groupByKeyAndWindow": window 2 s, slide 1 s
  const ran = await runWindow(['group-by-key-and-window', '--length', '2s', '--slide', '1s'], bigInput)
  t.equal(ran.code, 0)
  t.same(sorted(ran.records), sorted(bigGroupByOutput), 'groupByKeyAndWindow')
})

t.test('edge cases', async t => {
  const order = await runWindow(['group-by-key-and-window', '--length', '3s', '--slide', '3s'], [[['k', 1], ['j', 0], ['k', 2]], [], [['k', 3], [['x'], 4]]])
  t.same(order.records, [[['k', [1, 2, 3]], ['j', [0]], [['x'], [4]]]], 'values in batch order, then arrival; keys in first-seen order')
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['a', 5]], [['b', 6]]]
  const whole = await runWindow(['group-by-key-and-window', '--length', '2s'], input)
  const chunked = await runWindow(['group-by-key-and-window', '--length', '2s'], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'a batch in chunks gives the same windows')
  const fused = await runWords(['group-by-key-and-window', '--length', '2s', '--state-dir', t.testdir(), 'then', 'map-values', 'vs => { vs.push(0); return vs }'],
    '{"time":1000,"interval":1000,"records":[["a",1]]}\n{"time":2000,"interval":1000,"records":[["a",2]]}\n')
  t.same(fused.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', [1, 0]]], [['a', [1, 2, 0]]]], 'a later operator changing a group does not change the next window')
})

t.test('bad input', async t => {
  const bad = await runWindow(['group-by-key-and-window', '--length', '2s'], [[['a', 1]], [[1, 2, 3]]])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream group-by-key-and-window: batch 2000: expected a \[key, value\] pair: \[1,2,3\]\n/)
})

t.test('usage errors', async t => {
  const ran = await runWindow(['group-by-key-and-window', '--length', '2s', '--slide', '3s'], [[['a', 1]]], { interval: 2000 })
  t.equal(ran.code, 2, 'a slide that is not a multiple of the interval: exit 2')
  t.match(ran.stderr, /--slide 3s is not a multiple of the input interval 2s/)
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['group-by-key-and-window', '--length', '3s', '--slide', '2s'], bigInput.slice(0, 7))
})
