import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow } from '../windows.js'

// Spark's WindowOperationsSuite has no reduceByWindow case of its own; Spark defines
// it as window(...).reduce, or with an inverse as map((1, _)).reduceByKeyAndWindow
// (...).map(_._2): the suite's "larger slide time" case, without keys.
const input = [[1], [2], [3], [4], [5], [6], [], []]

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['larger slide time', ['(a, b) => a + b', '--length', '4s', '--slide', '2s'], input, [[3], [10], [18], [11]]],
    ['sum', ['sum', '--length', '2s'], [[1, 2], [3], [], []], [[3], [6], [3], []]],
    ['an empty window is an empty batch', ['(a, b) => a + b', '--length', '2s'], [[1, 2], [3], [], []], [[3], [6], [3], []]],
    ['with --inverse a value once seen stays', ['(a, b) => a + b', '--inverse', '(a, b) => a - b', '--length', '2s'], [[], [1, 2], [3], [], []], [[], [3], [6], [3], [0]]],
    ['max', ['max', '--length', '3s'], [[5, 1], [2], [3], [1]], [[5], [5], [5], [3]]],
    ['concat', ['concat', '--length', '2s', '--slide', '2s'], [['a'], ['b'], ['c']], [['ab']]],
    ['count', ['count', '--length', '2s'], [['x', 'y'], ['z'], []], [[2], [3], [1]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runWindow(['reduce-by-window', ...words], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
  const chunked = await runWindow(['reduce-by-window', 'sum', '--length', '2s'], [[1, 2, 3, 4, 5], [6]], { chunk: 2 })
  t.same(chunked.records, [[15], [21]], 'a batch in chunks gives the same windows')
})

t.test('bad input', async t => {
  const bad = await runWindow(['reduce-by-window', 'sum', '--length', '2s'], [[1], [2, 'three']])
  t.equal(bad.code, 65, 'sum of a string: exit 65')
  t.match(bad.stderr, /^dstream reduce-by-window: batch 2000: sum needs numbers, this record is: "three"\n/)
  const threw = await runWindow(['reduce-by-window', '(a, b) => a.x.y', '--length', '2s'], [[{}, {}]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream reduce-by-window: batch 1000: function threw TypeError/)
})

t.test('usage errors', async t => {
  const ran = await runWindow(['reduce-by-window', 'sum', '--length', '2500ms'], [[1]])
  t.equal(ran.code, 2, 'a length that is not a multiple of the interval: exit 2')
  t.match(ran.stderr, /^dstream reduce-by-window: --length 2500ms is not a multiple of the input interval 1s\n/)
  const filter = await runWords(['reduce-by-window', 'sum', '--length', '2s', '--filter', 'x'], '')
  t.equal(filter.code, 2, 'no --filter here (Spark has none): exit 2')
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['reduce-by-window', '(a, b) => a + b', '--inverse', '(a, b) => a - b', '--length', '4s', '--slide', '2s'], input)
  await checkRestart(t, ['reduce-by-window', 'max', '--length', '3s'], [[5, 1], [2], [3], [1]])
})
