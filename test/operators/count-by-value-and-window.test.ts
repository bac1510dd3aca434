import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow, sorted } from '../windows.js'

t.test("Spark's case", async t => {
  // WindowOperationsSuite "countByValueAndWindow": window 2 s, slide 1 s
  const ran = await runWindow(['count-by-value-and-window', '--length', '2s', '--slide', '1s'], [['a'], ['b', 'b'], ['a', 'b']])
  t.equal(ran.code, 0)
  t.same(sorted(ran.records), sorted([[['a', 1]], [['a', 1], ['b', 2]], [['a', 1], ['b', 3]]]), 'countByValueAndWindow')
})

t.test('edge cases', async t => {
  const gone = await runWindow(['count-by-value-and-window', '--length', '2s'], [['a'], ['b'], [], []])
  t.same(gone.records, [[['a', 1]], [['a', 1], ['b', 1]], [['b', 1]], []], 'a value with no occurrence left leaves (Spark filters counts of 0)')
  const values = await runWindow(['count-by-value-and-window', '--length', '2s'], [[[1, 2], { a: 1, b: 2 }], [[1, 2], { b: 2, a: 1 }, '1', 1]])
  t.same(values.records[1], [[[1, 2], 2], [{ a: 1, b: 2 }, 2], ['1', 1], [1, 1]], 'records compare by value')
  const input = [['a', 'b', 'a', 'c', 'a'], ['b', 'd'], ['a']]
  const whole = await runWindow(['count-by-value-and-window', '--length', '2s'], input)
  const chunked = await runWindow(['count-by-value-and-window', '--length', '2s'], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'a batch in chunks gives the same windows')
})

t.test('usage errors', async t => {
  const ran = await runWindow(['count-by-value-and-window', '--length', '1500ms'], [['a']])
  t.equal(ran.code, 2, 'a length that is not a multiple of the interval: exit 2')
  t.match(ran.stderr, /^dstream count-by-value-and-window: --length 1500ms is not a multiple of the input interval 1s\n/)
  const unknown = await runWords(['count-by-value-and-window', '--length', '2s', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['count-by-value-and-window', '--length', '3s', '--slide', '1s'], [['a'], ['b', 'b'], ['a', 'b'], [[1]], [], [{ k: 1 }]])
})
