import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow } from '../windows.js'

t.test("Spark's cases", async t => {
  // WindowOperationsSuite's testWindow: window 2 s, slide 1 s unless given; Spark runs
  // (outputs × slide / batch) batches, the ones past the input being empty
  const input = [[0], [1], [2], [3], [4], [5]]
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['basic window', [], input, [[0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]],
    ['tumbling window', ['--length', '2s', '--slide', '2s'], input, [[0, 1], [2, 3], [4, 5]]],
    ['larger window', ['--length', '4s', '--slide', '2s'], [...input, [], []], [[0, 1], [0, 1, 2, 3], [2, 3, 4, 5], [4, 5]]],
    ['non-overlapping window', ['--length', '2s', '--slide', '3s'], input, [[1, 2], [4, 5]]]
  ]
  for (const [name, window, input, expected] of cases) {
    const ran = await runWindow(['window', ...(window.length ? window : ['--length', '2s', '--slide', '1s'])], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, `window - ${name}`)
  }
})

t.test('times and intervals', async t => {
  const ran = await runWindow(['window', '--length', '4s', '--slide', '2s'], [[0], [1], [2], [3], [4], [5], [], []])
  t.same(ran.batches.map(b => [b.time, b.interval]), [[2000, 2000], [4000, 2000], [6000, 2000], [8000, 2000]], 'time = window end, interval = slide')
  const slideDefault = await runWindow(['window', '--length', '10s'], [['a'], ['b']], { interval: 5000 })
  t.same(slideDefault.batches.map(b => [b.time, b.interval, b.records]), [[5000, 5000, ['a']], [10000, 5000, ['a', 'b']]], 'the slide defaults to the input interval')
})

t.test('edge cases', async t => {
  const empty = await runWindow(['window', '--length', '2s'], [[], ['a'], [], []])
  t.same(empty.records, [[], ['a'], ['a'], []], 'a window without records is an empty batch')
  const input = [[1, 2, 3, 4, 5], [6, 7, 8], [{ x: 1 }, [2], null]]
  const whole = await runWindow(['window', '--length', '2s'], input)
  const chunked = await runWindow(['window', '--length', '2s'], input, { chunk: 2 })
  t.same(whole.records, [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8], [6, 7, 8, { x: 1 }, [2], null]], 'any records, in batch order')
  t.same(chunked.records, whole.records, 'a batch in chunks gives the same windows')
  const fused = await runWords(['window', '--length', '2s', '--state-dir', t.testdir(), 'then', 'map', 'r => { r.n++; return r }'],
    '{"time":1000,"interval":1000,"records":[{"n":0}]}\n{"time":2000,"interval":1000,"records":[{"n":10}]}\n')
  t.same(fused.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[{ n: 1 }], [{ n: 1 }, { n: 11 }]], 'a later operator changing a record does not change the next window')
  const none = await runWindow(['window', '--length', '2s'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('usage errors', async t => {
  const ran = await runWindow(['window', '--length', '3s'], [[1]], { interval: 2000 })
  t.equal(ran.code, 2, 'a length that is not a multiple of the interval: exit 2')
  t.match(ran.stderr, /^dstream window: --length 3s is not a multiple of the input interval 2s\nUsage: dstream window/)
  const missing = await runWords(['window', '--state-dir', t.testdir()], '')
  t.equal(missing.code, 2, 'no --length: exit 2')
  t.match(missing.stderr, /^dstream window: missing --length DUR\n/)
  const unknown = await runWords(['window', '--length', '2s', '--size', '2s'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['window', '--length', '4s', '--slide', '2s'], [[0], [1], [2], [3], [4], [5], [], []])
  await checkRestart(t, ['window', '--length', '2s', '--slide', '3s'], [[0], [1], [2], [3], [4], [5]])
})
