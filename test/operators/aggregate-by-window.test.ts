import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { freshDir, runTable, runWords, sh } from '../helpers.js'
import { checkRestart, runWindow } from '../windows.js'

const M = 60_000
type Row = { window: { start: number, end: number }, key: unknown, value: unknown }
/** [start in minutes, key, value] rows of windows `length` minutes long, as the operator writes them */
const rows = (length: number, batches: Array<Array<[number, string, unknown]>>): Row[][] =>
  batches.map(b => b.map(([start, key, value]) => ({ window: { start: start * M, end: (start + length) * M }, key, value })))
/** {ts, k, v} records from [minutes, key, value] */
const rec = (min: number, k = 'a', v = 1) => ({ ts: Math.round(min * M), k, v })
const AGG = ['--event-time', '_.ts', '--key', '_.k', '--value', '_.v']
const deadLetters = (file: string): Array<{ operator: string, time: number, reason: string, record: unknown }> =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l)) : []

// The inputs run through Spark 3.5.9 Structured Streaming (pyspark, a file source with
// one JSON file per micro-batch added one at a time and processAllAvailable() after
// each, foreachBatch collecting the rows; no-data batches on), with
// withWatermark("et", DUR).groupBy(window("et", length, slide), "k").agg(...):
// Spark's rows of each data batch and of the no-data batch it ran right after are the
// expected output batch here. Times in minutes; batches 1 s apart in processing time.
const A = [[rec(1), rec(4), rec(12, 'b')], [rec(25)], [rec(9), rec(14, 'b'), rec(21, 'c')], [rec(30)], [rec(19, 'b'), rec(19 + 59999 / M, 'b')], []]
const C = [[rec(2, 'a', 1), rec(7, 'a', 2)], [rec(21, 'a', 4)], [rec(13, 'a', 8), rec(16, 'b', 1)], [rec(40, 'c', 16)], []]
const G = [[rec(30), rec(5)], [rec(15), rec(25)], []]
const TUMBLING = ['--length', '10m', '--watermark', '10m']
const SLIDING = ['--length', '10m', '--slide', '5m', '--watermark', '5m']

const spark: Array<[string, string[], unknown[][], Row[][]]> = [
  // A, tumbling 10m, watermark 10m, count. A record is judged by its window's end, not
  // its own time: 14m is kept at watermark 15m ([10m, 20m) is open) while 9m is dropped
  // ([0, 10m) ended). Late is end <= watermark: 19m and 19m59.999s are dropped at 20m.
  // Update emits at once the windows/keys a batch touched, and nothing when state goes.
  ['update: at once; late judged by the window end, end <= watermark', ['count', ...AGG, ...TUMBLING, '--output-mode', 'update'], A,
    rows(10, [[[0, 'a', 2], [10, 'b', 1]], [[20, 'a', 1]], [[10, 'b', 2], [20, 'c', 1]], [[30, 'a', 1]], [], []])],
  // append: [0, 10m) came out in the no-data batch after the batch that moved the
  // watermark to 15m (here: in that batch's output); [10m, 20m) at watermark 20m exactly
  ['append: once the watermark reaches the window end', ['count', ...AGG, ...TUMBLING, '--output-mode', 'append'], A,
    rows(10, [[], [[0, 'a', 2]], [], [[10, 'b', 2]], [], []])],
  // complete: Spark drops no late record (9m and the 19m records count) and keeps every window
  ['complete: nothing late, nothing dropped, everything every batch', ['count', ...AGG, ...TUMBLING, '--output-mode', 'complete'], A,
    rows(10, [[[0, 'a', 2], [10, 'b', 1]], [[0, 'a', 2], [10, 'b', 1], [20, 'a', 1]], [[0, 'a', 3], [10, 'b', 2], [20, 'a', 1], [20, 'c', 1]],
      [[0, 'a', 3], [10, 'b', 2], [20, 'a', 1], [20, 'c', 1], [30, 'a', 1]], [[0, 'a', 3], [10, 'b', 4], [20, 'a', 1], [20, 'c', 1], [30, 'a', 1]],
      [[0, 'a', 3], [10, 'b', 4], [20, 'a', 1], [20, 'c', 1], [30, 'a', 1]]])],
  // without withWatermark Spark drops nothing and keeps everything (and refuses append)
  ['update without a watermark: nothing is late', ['count', ...AGG, '--length', '10m', '--output-mode', 'update'], A,
    rows(10, [[[0, 'a', 2], [10, 'b', 1]], [[20, 'a', 1]], [[0, 'a', 3], [10, 'b', 2], [20, 'c', 1]], [[30, 'a', 1]], [[10, 'b', 4]], []])],
  // C, 10m windows sliding 5m (epoch-aligned: 2m is in [-5m, 5m) and [0, 10m)), watermark
  // 5m, sum. 13m at watermark 16m: its window [5m, 15m) is late (Spark dropped that row),
  // its window [10m, 20m) is not, and the record counts there.
  ['update, sliding: a record counts in its windows that are still open', ['sum', ...AGG, ...SLIDING, '--output-mode', 'update'], C,
    rows(10, [[[-5, 'a', 1], [0, 'a', 3], [5, 'a', 2]], [[15, 'a', 4], [20, 'a', 4]], [[10, 'a', 8], [10, 'b', 1], [15, 'b', 1]], [[35, 'c', 16], [40, 'c', 16]], []])],
  ['append, sliding', ['sum', ...AGG, ...SLIDING, '--output-mode', 'append'], C,
    rows(10, [[], [[-5, 'a', 1], [0, 'a', 3], [5, 'a', 2]], [], [[10, 'a', 8], [10, 'b', 1], [15, 'a', 4], [15, 'b', 1], [20, 'a', 4]], []])],
  ['complete, sliding: the late share counts too', ['sum', ...AGG, ...SLIDING, '--output-mode', 'complete'], C,
    rows(10, [[[-5, 'a', 1], [0, 'a', 3], [5, 'a', 2]], [[-5, 'a', 1], [0, 'a', 3], [5, 'a', 2], [15, 'a', 4], [20, 'a', 4]],
      [[-5, 'a', 1], [0, 'a', 3], [5, 'a', 10], [10, 'a', 8], [10, 'b', 1], [15, 'a', 4], [15, 'b', 1], [20, 'a', 4]],
      [[-5, 'a', 1], [0, 'a', 3], [5, 'a', 10], [10, 'a', 8], [10, 'b', 1], [15, 'a', 4], [15, 'b', 1], [20, 'a', 4], [35, 'c', 16], [40, 'c', 16]],
      [[-5, 'a', 1], [0, 'a', 3], [5, 'a', 10], [10, 'a', 8], [10, 'b', 1], [15, 'a', 4], [15, 'b', 1], [20, 'a', 4], [35, 'c', 16], [40, 'c', 16]]])],
  // G: a batch is judged by the watermark of the batches before it: 5m counts beside 30m
  // (which moves the watermark to 20m only for the next batch); then 15m is late
  ['update: a batch\'s own records do not move its watermark', ['count', ...AGG, ...TUMBLING, '--output-mode', 'update'], G,
    rows(10, [[[0, 'a', 1], [30, 'a', 1]], [[20, 'a', 1]], []])],
  ['append: a window behind the watermark its own batch set comes out at once', ['count', ...AGG, ...TUMBLING, '--output-mode', 'append'], G,
    rows(10, [[[0, 'a', 1]], [], []])],
  ['complete: 15m counts', ['count', ...AGG, ...TUMBLING, '--output-mode', 'complete'], G,
    rows(10, [[[0, 'a', 1], [30, 'a', 1]], [[0, 'a', 1], [10, 'a', 1], [20, 'a', 1], [30, 'a', 1]], [[0, 'a', 1], [10, 'a', 1], [20, 'a', 1], [30, 'a', 1]]])],
  // update emits a touched key even when its value did not change (max 5, then 3)
  ['update: a touched row comes out even unchanged', ['max', ...AGG, ...TUMBLING, '--output-mode', 'update'], [[rec(1, 'a', 5)], [rec(2, 'a', 3)], [rec(3, 'a', 9), rec(3, 'b', 1)]],
    rows(10, [[[0, 'a', 5]], [[0, 'a', 5]], [[0, 'a', 9], [0, 'b', 1]]])],
  // a length that is not a multiple of the slide: starts at multiples of 3m, [start, end) half-open
  ['length 10m, slide 3m; times before the epoch', ['count', ...AGG, '--length', '10m', '--slide', '3m', '--watermark', '0', '--output-mode', 'update'], [[rec(7), rec(0), rec(-1)]],
    rows(10, [[[-9, 'a', 2], [-6, 'a', 2], [-3, 'a', 2], [0, 'a', 2], [3, 'a', 1], [6, 'a', 1]]])],
  // watermark 0: 10m closes [0, 10m); then 9m is late and 10m is not
  ['append with a zero watermark', ['count', ...AGG, '--length', '10m', '--watermark', '0s', '--output-mode', 'append'], [[rec(5)], [rec(10)], [rec(9), rec(10)], [rec(20 - 1 / M)]],
    rows(10, [[], [[0, 'a', 1]], [], []])]
]

t.test('the cases run in Spark', async t => {
  for (const [name, words, input, expected] of spark) {
    const ran = await runWindow(['aggregate-by-window', ...words], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
    t.same(ran.batches.map(b => [b.time, b.interval]), input.map((_, i) => [(i + 1) * 1000, 1000]), `${name}: a batch out for every batch in, same time and interval`)
  }
})

t.test('late records are set aside, one line each', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const ran = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'update', '--dead-letter', file], A)
  t.equal(ran.code, 0, ran.stderr)
  const dead = deadLetters(file)
  // Spark counted 1 + 1 rows (numRowsDroppedByWatermark counts rows aggregated per window and key)
  t.same(dead.map(d => [d.time, d.record]), [[3000, rec(9)], [5000, rec(19, 'b')], [5000, rec(19 + 59999 / M, 'b')]], 'the three late records, with their batch times')
  t.match(dead[0], { operator: 'aggregate-by-window', reason: /later than the watermark 1970-01-01T00:15:00.000Z: event time 1970-01-01T00:09:00.000Z/ })
  t.match(ran.stderr, /3 inputs set aside/, 'and said on stderr')
  const sliding = path.join(dir, 'sliding.ndjson')
  await runWindow(['aggregate-by-window', 'sum', ...AGG, ...SLIDING, '--output-mode', 'update', '--dead-letter', sliding], C)
  t.same(deadLetters(sliding), [], 'a record with a window still open is not set aside')
  const complete = path.join(dir, 'complete.ndjson')
  await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'complete', '--dead-letter', complete], A)
  t.same(deadLetters(complete), [], 'complete mode sets nothing aside')
})

t.test('state is dropped behind the watermark, except in complete mode', async t => {
  const input = Array.from({ length: 12 }, (_, i) => [rec(i * 10, 'a'), rec(i * 10 + 3, 'b')])
  const held = async (mode: string) => {
    const stateDir = freshDir()
    const ran = await runWindow(['aggregate-by-window', 'count', ...AGG, ...SLIDING, '--output-mode', mode, '--name', 'agg'], input, { stateDir })
    t.equal(ran.code, 0, ran.stderr)
    const files = fs.readdirSync(path.join(stateDir, 'agg')).filter(f => /^checkpoint-\d+\.json$/.test(f)).sort()
    const saved = JSON.parse(fs.readFileSync(path.join(stateDir, 'agg', files.at(-1)!), 'utf8'))
    return (saved.state.windows as Array<[number, unknown[], unknown[]]>).map(([start, keys]) => [start / M, keys.length])
  }
  // the last batch's largest time is 113m: watermark 108m, windows ending after it stay
  t.same(await held('update'), [[100, 2], [105, 2], [110, 2]], 'update: the windows ending after the watermark')
  t.same(await held('append'), [[100, 2], [105, 2], [110, 2]], 'append: the same')
  t.equal((await held('complete')).length, 24, 'complete: every window ever seen')
})

t.test('edge cases', async t => {
  const empty = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'complete'], [[], [rec(1)], [], []])
  t.same(empty.records, [[], ...rows(10, [[[0, 'a', 1]], [[0, 'a', 1]], [[0, 'a', 1]]])], 'complete mode: every batch, empty ones too')
  const input = [[rec(1), rec(2, 'b'), rec(12), rec(3), rec(4, 'c')], [rec(9), rec(25, 'b'), rec(14), rec(15)], [rec(31), rec(12, 'c'), rec(40)], []]
  for (const mode of ['update', 'append', 'complete']) {
    for (const words of [['sum', ...AGG, ...SLIDING], ['concat', '--event-time', '_.ts', '--key', '_.k', '--value', '[_.ts]', ...TUMBLING]]) {
      const whole = await runWindow(['aggregate-by-window', ...words, '--output-mode', mode], input)
      const chunked = await runWindow(['aggregate-by-window', ...words, '--output-mode', mode], input, { chunk: 2 })
      t.equal(whole.code, 0, whole.stderr)
      t.same(chunked.records, whole.records, `${mode}, ${words[0]}: a batch in chunks gives the same output`)
      t.equal(chunked.chunks.length, input.length, 'one chunk out per batch')
    }
  }
  const order = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'update'], [[rec(12, 'z'), rec(1, 'y'), rec(2, 'x'), rec(13, 'w')], [rec(3, 'w'), rec(4, 'y'), rec(14, 'z')]])
  t.same(order.records, rows(10, [[[0, 'y', 1], [0, 'x', 1], [10, 'z', 1], [10, 'w', 1]], [[0, 'y', 2], [0, 'w', 1], [10, 'z', 2]]]), 'rows by window start, then as keys came into the window')
  const pairs = await runWindow(['aggregate-by-window', 'sum', '--event-time', '([, v]) => v.ts', '--value', '([, v]) => v.n', '--length', '1m', '--output-mode', 'update'],
    [[[['x', 1], { ts: 1000, n: 1 }], [{ b: 2, a: 1 }, { ts: 2000, n: 2 }], [['x', 1], { ts: 3000, n: 3 }], [{ a: 1, b: 2 }, { ts: 4000, n: 4 }], ['1', { ts: 5000, n: 5 }], [1, { ts: 6000, n: 6 }]]])
  t.same(pairs.records[0].map(r => [(r as Row).key, (r as Row).value]), [[['x', 1], 4], [{ b: 2, a: 1 }, 6], ['1', 5], [1, 6]], 'the pair\'s key by default; array and object keys by value; 1 and "1" differ')
  const plain = await runWindow(['aggregate-by-window', 'count', '--event-time', '_[1]', '--length', '10s', '--output-mode', 'update'], [[['a', 1000], ['a', 2000], ['b', 11000]]])
  t.same(plain.records, [[{ window: { start: 0, end: 10000 }, key: 'a', value: 2 }, { window: { start: 10000, end: 20000 }, key: 'b', value: 1 }]], 'pairs, no --key or --value')
  const dates = await runWindow(['aggregate-by-window', 'count', '--event-time', '_.at', '--key', '_.k', '--length', '1h', '--output-mode', 'update'], [[{ at: '2024-05-01T10:20:00Z', k: 'a' }, { at: '2024-05-01T10:59:59.999Z', k: 'a' }]])
  t.same(dates.records, [[{ window: { start: Date.UTC(2024, 4, 1, 10), end: Date.UTC(2024, 4, 1, 11) }, key: 'a', value: 2 }]], 'date strings as event times; windows on the hour')
  const wholeRecord = await runWindow(['aggregate-by-window', '(a, b) => a.n > b.n ? a : b', '--event-time', '_.ts', '--key', '_.k', '--length', '10m', '--output-mode', 'update'], [[{ ts: 1, k: 'a', n: 2 }, { ts: 2, k: 'a', n: 5 }, { ts: 3, k: 'a', n: 1 }]])
  t.same(wholeRecord.records, [[{ window: { start: 0, end: 10 * M }, key: 'a', value: { ts: 2, k: 'a', n: 5 } }]], 'with --key and no --value, FN folds whole records')
  // a reducer that changes its accumulator: the two windows of a sliding record must not share one
  const mutating = await runWindow(['aggregate-by-window', '(a, b) => { a.push(...b); return a }', '--event-time', '_.ts', '--key', '_.k', '--value', '_.v', ...SLIDING, '--output-mode', 'update'],
    [[{ ts: 7 * M, k: 'a', v: [1] }, { ts: 12 * M, k: 'a', v: [2] }]])
  t.same(mutating.records, rows(10, [[[0, 'a', [1]], [5, 'a', [1, 2]], [10, 'a', [2]]]]), 'each window its own accumulator')
  // fused: what a later operator changes in a row it is handed must not change the state
  const fused = await runWords(['aggregate-by-window', 'concat', '--event-time', '_.ts', '--key', '_.k', '--value', '[_.v]', '--length', '10m', '--output-mode', 'update', '--state-dir', freshDir(), 'then', 'map', 'r => { r.value.push(99); r.key.push(0); return r.value }'],
    '{"time":1000,"interval":1000,"records":[{"ts":1,"k":["a"],"v":1}]}\n{"time":2000,"interval":1000,"records":[{"ts":2,"k":["a"],"v":2}]}\n')
  t.same(fused.stdout, '{"time":1000,"interval":1000,"records":[[1,99]]}\n{"time":2000,"interval":1000,"records":[[1,2,99]]}\n', 'in a then chain, output rows are the operator\'s no more')
  const chain = ['map', '_', 'then', 'aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'append']
  const fusedRun = await runTable([...chain, '--state-dir', freshDir()], A)
  t.same(fusedRun.records, rows(10, [[], [[0, 'a', 2]], [], [[10, 'b', 2]], [], []]), 'fused after map: the piped output')
  const end = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', 'append'], [[rec(1)], [rec(15)]])
  t.same(end.records, [[], []], 'end of input: windows the watermark has not passed are not flushed (as Spark)')
  const none = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const notPair = await runWindow(['aggregate-by-window', 'count', '--event-time', '_[1]', '--length', '10s', '--output-mode', 'update'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(notPair.code, 65, 'a record that is not a pair (no --key): exit 65')
  t.match(notPair.stderr, /^dstream aggregate-by-window: batch 2000: expected a \[key, value\] pair \(or give --key FN\): "x"\n/, 'names operator, batch time and record')
  t.equal(notPair.records.length, 1, 'the batches before it came out')
  const noTime = await runWindow(['aggregate-by-window', 'count', ...AGG, ...TUMBLING], [[{ k: 'a', ts: 'soon' }]])
  t.equal(noTime.code, 65, 'an event time that is not a time: exit 65')
  t.match(noTime.stderr, /batch 1000: --event-time gave "soon", not a time .*: \{"k":"a","ts":"soon"\}/)
  const sumString = await runWindow(['aggregate-by-window', 'sum', ...AGG, ...TUMBLING], [[rec(1, 'a', 'two' as any)]])
  t.equal(sumString.code, 65, 'sum of a string: exit 65')
  t.match(sumString.stderr, /sum needs numbers, this value is "two": /)
  const dir = t.testdir()
  const skipped = await runWindow(['aggregate-by-window', 'sum', ...AGG, ...TUMBLING, '--output-mode', 'update', '--on-bad-input', 'skip', '--dead-letter', `${dir}/dead.ndjson`],
    [[rec(1, 'a', 'two' as any), { k: 'a' }, rec(2, 'a', 3)]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, rows(10, [[[0, 'a', 3]]]), 'the good records counted')
  t.equal(deadLetters(`${dir}/dead.ndjson`).length, 2, 'the bad ones in the dead-letter file')
  const threw = await runWindow(['aggregate-by-window', '(a, b) => a + b.n.m', '--event-time', '_.ts', '--key', '_.k', '--length', '10m', '--output-mode', 'update'], [[{ ts: 1, k: 'a', n: 1 }, { ts: 2, k: 'a', n: null }]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream aggregate-by-window: batch 1000: function threw TypeError/)
  const keyThrew = await runWindow(['aggregate-by-window', 'count', '--event-time', '_.ts', '--key', '_.a.b', '--length', '10m', '--output-mode', 'update', '--on-error', 'skip', '--dead-letter', `${dir}/keys.ndjson`], [[{ ts: 1, a: { b: 'x' } }, { ts: 2 }]])
  t.equal(keyThrew.code, 0, '--on-error skip: exit 0')
  t.same(keyThrew.records, [[{ window: { start: 0, end: 10 * M }, key: 'x', value: 1 }]], 'the record whose key threw is skipped')
})

t.test('usage errors', async t => {
  for (const [words, reason] of [
    [['count', '--length', '10m'], /missing --event-time FN/],
    [['count', '--event-time', '_.ts'], /missing --length DUR/],
    [['count', '--event-time', '_.ts', '--length', '10m'], /append output mode needs --watermark DUR/],
    [['count', '--event-time', '_.ts', '--length', '5m', '--slide', '10m', '--watermark', '1m'], /--slide 10m is longer than --length 5m/],
    [['count', '--event-time', '_.ts', '--length', 'soon', '--watermark', '1m'], /bad --length 'soon'/],
    [['count', '--event-time', '_.ts', '--length', '10m', '--watermark', 'x'], /bad --watermark 'x'/],
    [['count', '--event-time', '_.ts', '--length', '10m', '--output-mode', 'all'], /Invalid values:\s+Argument: output-mode/],
    [['count', '--event-time', '_.ts', '--length', '10m', '--nope'], /Unknown argument: nope/],
    [['(a, b) =>', '--event-time', '_.ts', '--length', '10m', '--output-mode', 'update'], /reduce function does not compile/]
  ] as Array<[string[], RegExp]>) {
    const ran = await runWords(['aggregate-by-window', ...words, '--state-dir', freshDir()], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, reason)
    if (!words[0].includes('=>')) t.match(ran.stderr, /Usage: dstream aggregate-by-window FN/, 'and the usage')
  }
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  for (const mode of ['update', 'append', 'complete']) {
    await checkRestart(t, ['aggregate-by-window', 'count', ...AGG, ...TUMBLING, '--output-mode', mode], A)
    await checkRestart(t, ['aggregate-by-window', 'sum', ...AGG, ...SLIDING, '--output-mode', mode], C)
  }
  await checkRestart(t, ['aggregate-by-window', 'concat', '--event-time', '_.ts', '--key', '_.k', '--value', '[_.v]', '--length', '10m', '--output-mode', 'update'], [[rec(1, 'x')], [rec(2, 'x'), rec(3, 'y')], [rec(4, 'x')]])
})

t.test('help', async t => {
  const help = await sh('dstream aggregate-by-window --help')
  t.equal(help.code, 0, help.stderr)
  for (const word of [/^dstream aggregate-by-window FN \[options\]/, /--event-time FN/, /--watermark DUR/, /--output-mode complete\|update\|append/, /no-data\s+micro-batch/, /\$ dstream aggregate-by-window count --event-time _.ts/]) t.match(help.stdout, word)
})
