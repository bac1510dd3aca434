import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow } from '../windows.js'

t.test("Spark's case", async t => {
  // WindowOperationsSuite "countByWindow": window 2 s, slide 1 s
  const ran = await runWindow(['count-by-window', '--length', '2s', '--slide', '1s'], [[1], [1], [1, 2], [0], [], []])
  t.equal(ran.code, 0)
  t.same(ran.records, [[1], [2], [3], [3], [1], [0]], 'countByWindow')
})

t.test('cases', async t => {
  const slid = await runWindow(['count-by-window', '--length', '3s', '--slide', '2s'], [['a', 'b'], ['d', 'f', 'a', 'b'], ['f', 'g', 'h'], ['a']])
  t.same(slid.batches.map(b => [b.time, b.interval, b.records]), [[2000, 2000, [6]], [4000, 2000, [8]]], 'window 3s, slide 2s')
  const empty = await runWindow(['count-by-window', '--length', '2s'], [[], [], ['x'], []])
  t.same(empty.records, [[0], [0], [1], [1]], 'an empty window counts 0, also before the first record (Spark emits nothing there)')
  const chunked = await runWindow(['count-by-window', '--length', '2s'], [[1, 2, 3, 4, 5], [6, 7]], { chunk: 2 })
  t.same(chunked.records, [[5], [7]], 'chunks count as one batch')
})

t.test('usage errors', async t => {
  const ran = await runWindow(['count-by-window', '--length', '2s', '--slide', '500ms'], [[1]])
  t.equal(ran.code, 2, 'a slide that is not a multiple of the interval: exit 2')
  t.match(ran.stderr, /^dstream count-by-window: --slide 500ms is not a multiple of the input interval 1s\n/)
  const unknown = await runWords(['count-by-window', '--length', '2s', '--inverse', 'x'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['count-by-window', '--length', '3s', '--slide', '2s'], [['a', 'b'], ['d', 'f', 'a', 'b'], ['f', 'g', 'h'], ['a'], [], []])
})
