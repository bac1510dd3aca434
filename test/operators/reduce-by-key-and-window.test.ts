import t from 'tap'
import { runWords } from '../helpers.js'
import { checkRestart, runWindow, sorted } from '../windows.js'

// Spark's WindowOperationsSuite: batch duration 1 s, batches at 1000, 2000, ...;
// window 2 s and slide 1 s unless a case says otherwise; outputs compared as sets.
const largerSlideInput = [[['a', 1]], [['a', 2]], [['a', 3]], [['a', 4]], [['a', 5]], [['a', 6]], [], []]
const largerSlideReduceOutput = [[['a', 3]], [['a', 10]], [['a', 18]], [['a', 11]]]
const bigInput = [
  [['a', 1]], [['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 1], ['b', 1]], [['a', 1]], [],
  [['a', 1]], [['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 1], ['b', 1]], [['a', 1]], []
]
const bigReduceOutput = [
  [['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 1]], [['a', 1]],
  [['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 1]], [['a', 1]]
]
// with an inverse and no filter no key leaves the window, even at 0
const bigReduceInvOutput = [
  [['a', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 1], ['c', 0]], [['a', 1], ['b', 0], ['c', 0]],
  [['a', 1], ['b', 0], ['c', 0]], [['a', 2], ['b', 1], ['c', 0]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 2], ['c', 1]], [['a', 2], ['b', 1], ['c', 0]], [['a', 1], ['b', 0], ['c', 0]]
]
const cases: Array<[string, unknown[][], unknown[][], unknown[][], string[]?]> = [
  // [name, input, output without inverse, output with inverse, window]
  ['basic reduction', [[['a', 1], ['a', 3]]], [[['a', 4]]], [[['a', 4]]]],
  ['key already in window and new value added into window', [[['a', 1]], [['a', 1]]], [[['a', 1]], [['a', 2]]], [[['a', 1]], [['a', 2]]]],
  ['new key added into window', [[['a', 1]], [['a', 1], ['b', 1]]], [[['a', 1]], [['a', 2], ['b', 1]]], [[['a', 1]], [['a', 2], ['b', 1]]]],
  ['key removed from window', [[['a', 1]], [['a', 1]], [], []], [[['a', 1]], [['a', 2]], [['a', 1]], []], [[['a', 1]], [['a', 2]], [['a', 1]], [['a', 0]]]],
  ['larger slide time', largerSlideInput, largerSlideReduceOutput, largerSlideReduceOutput, ['--length', '4s', '--slide', '2s']],
  ['big test', bigInput, bigReduceOutput, bigReduceInvOutput]
]
const PLUS = '(x, y) => x + y'
const MINUS = '(x, y) => x - y'

t.test("Spark's cases", async t => {
  for (const [name, input, naive, inverse, window = ['--length', '2s', '--slide', '1s']] of cases) {
    for (const fn of [PLUS, 'sum']) {
      const ran = await runWindow(['reduce-by-key-and-window', fn, ...window], input)
      t.equal(ran.code, 0, `${name}, ${fn}: exit 0 ${ran.stderr}`)
      t.same(sorted(ran.records), sorted(naive), `reduceByKeyAndWindow - ${name} (${fn})`)
    }
    const inv = await runWindow(['reduce-by-key-and-window', PLUS, '--inverse', MINUS, ...window], input)
    t.same(sorted(inv.records), sorted(inverse), `reduceByKeyAndWindow with inverse function - ${name}`)
  }
  const filtered = await runWindow(['reduce-by-key-and-window', PLUS, '--inverse', MINUS, '--filter', '([k, v]) => v != 0', '--length', '2s'], bigInput)
  t.same(sorted(filtered.records), sorted(bigReduceOutput), 'reduceByKeyAndWindow with inverse and filter functions - big test')
})

t.test('times, intervals and partial windows', async t => {
  const ran = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '4s', '--slide', '2s'], largerSlideInput)
  t.same(ran.batches.map(b => [b.time, b.interval]), [[2000, 2000], [4000, 2000], [6000, 2000], [8000, 2000]], 'a window ends at each multiple of the slide; interval = slide')
  const late = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '4s', '--slide', '2s'], [[['a', 1]], [['a', 2]], [['a', 3]]], { start: 3000 })
  t.same(late.batches.map(b => [b.time, b.records]), [[4000, [['a', 3]]]], 'a stream starting between slides: windows stay on multiples of the slide; the first is partial')
  const epoch = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '10s', '--slide', '5s'], [[['a', 1]], [['a', 1]]], { interval: 5000, start: 1_700_000_005_000 })
  t.same(epoch.batches.map(b => [b.time, b.interval, b.records]), [[1_700_000_005_000, 5000, [['a', 1]]], [1_700_000_010_000, 5000, [['a', 2]]]], 'epoch times')
  const wide = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s', '--slide', '3s'], [[['a', 1]], [['a', 2]], [['a', 3]], [['a', 4]], [['a', 5]], [['a', 6]]])
  t.same(wide.records, [[['a', 5]], [['a', 11]]], 'a slide longer than the length skips the batches between windows')
  const wideInv = await runWindow(['reduce-by-key-and-window', PLUS, '--inverse', MINUS, '--length', '2s', '--slide', '3s'], [[['a', 1]], [['a', 2]], [['a', 3]], [['a', 4]], [['a', 5]], [['a', 6]]])
  t.same(wideInv.records, [[['a', 5]], [['a', 11]]], 'and so with --inverse')
})

t.test('the built-ins are exact, the rest recomputed', async t => {
  const input = [[['a', 3], ['b', 'x']], [['a', 1]], [['a', 2], ['b', 'y']], [], []]
  const min = await runWindow(['reduce-by-key-and-window', 'min', '--length', '2s'], input)
  t.same(min.records, [[['a', 3], ['b', 'x']], [['a', 1], ['b', 'x']], [['a', 1], ['b', 'y']], [['a', 2], ['b', 'y']], []], 'min over the window')
  const count = await runWindow(['reduce-by-key-and-window', 'count', '--length', '2s'], input)
  t.same(sorted(count.records), sorted([[['a', 1], ['b', 1]], [['a', 2], ['b', 1]], [['a', 2], ['b', 1]], [['a', 1], ['b', 1]], []]), 'count of values, keys with none left gone')
  const concat = await runWindow(['reduce-by-key-and-window', 'concat', '--length', '3s'], [[['k', [1]]], [['k', [2]]], [['k', [3]]], [['k', [4]]]])
  t.same(concat.records, [[['k', [1]]], [['k', [1, 2]]], [['k', [1, 2, 3]]], [['k', [2, 3, 4]]]], 'concat in batch order')
  // a function that changes its first argument must not change the batches' results kept for later windows
  const mutating = await runWindow(['reduce-by-key-and-window', '(a, b) => { a.push(...b); return a }', '--length', '2s'], [[['k', [1]], ['k', [2]]], [['k', [3]]], [['k', [4]]]])
  t.same(mutating.records, [[['k', [1, 2]]], [['k', [1, 2, 3]]], [['k', [3, 4]]]], 'a reducer that mutates its accumulator')
})

t.test('edge cases', async t => {
  const empty = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s'], [[], [], [['a', 1]], [], []])
  t.same(empty.records, [[], [], [['a', 1]], [['a', 1]], []], 'empty batches give empty windows')
  const input = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['a', 5]], [['b', 6], ['d', 7], ['a', 1]], [['c', 1]]]
  for (const words of [['sum'], [PLUS, '--inverse', MINUS], ['max']]) {
    const whole = await runWindow(['reduce-by-key-and-window', ...words, '--length', '2s'], input)
    const chunked = await runWindow(['reduce-by-key-and-window', ...words, '--length', '2s'], input, { chunk: 2 })
    t.same(chunked.records, whole.records, `${words[0]}: a batch in chunks gives the same windows`)
    t.equal(chunked.chunks.length, whole.records.length, 'one chunk out per window')
  }
  const keys = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s'], [[[['x', 1], 1], [{ a: 1, b: 2 }, 1]], [[['x', 1], 2], [{ b: 2, a: 1 }, 2], ['1', 1], [1, 1]]])
  t.same(keys.records[1], [[['x', 1], 3], [{ a: 1, b: 2 }, 3], ['1', 1], [1, 1]], 'array and object keys compare by value; 1 and "1" differ')
  const open = await runWords(['reduce-by-key-and-window', 'sum', '--length', '2s', '--state-dir', t.testdir()], '{"time":1000,"interval":1000,"records":[["a",1]]}\n{"time":2000,"interval":1000,"records":[["a",2]],"more":true}\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.same(open.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', 1]]], 'the partial batch is dropped and ends no window')
  const none = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
  const fused = await runWords(['map', '[_, 1]', 'then', 'reduce-by-key-and-window', 'sum', '--length', '2s', '--slide', '2s', '--state-dir', t.testdir()], '{"time":1000,"interval":1000,"records":["a"]}\n{"time":2000,"interval":1000,"records":["a","b"]}\n')
  t.same(fused.stdout, '{"time":2000,"interval":2000,"records":[["a",2],["b",1]]}\n', 'in a then chain')
})

t.test('bad input', async t => {
  const bad = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream reduce-by-key-and-window: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch time and record')
  t.same(bad.records, [[['a', 1]]], 'windows before it came out')
  const dir = t.testdir()
  const skipped = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2s', '--on-bad-input', 'skip', '--dead-letter', `${dir}/dead.ndjson`], [[['a', 1], 'x'], [['a', 'two'], ['a', 2]]])
  t.equal(skipped.code, 0, '--on-bad-input skip: exit 0')
  t.same(skipped.records, [[['a', 1]], [['a', 3]]], 'the windows go on without the bad records')
  const threw = await runWindow(['reduce-by-key-and-window', '(a, b) => a + b.n', '--length', '2s'], [[['k', { n: 1 }]], [['k', null]]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream reduce-by-key-and-window: batch 2000: function threw TypeError/, 'names operator and batch')
  const inverse = await runWindow(['reduce-by-key-and-window', PLUS, '--inverse', '(a, b) => a.x.y', '--length', '1s'], [[['k', 1]], [['k', 2]]])
  t.equal(inverse.code, 65, 'an inverse that throws: exit 65')
  t.match(inverse.stderr, /batch 2000: function threw TypeError.*\n\s+on arguments \[1,1\]/)
})

t.test('usage errors', async t => {
  const notMultiple = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '2500ms'], [[['a', 1]]])
  t.equal(notMultiple.code, 2, 'a length that is not a multiple of the interval: exit 2')
  t.match(notMultiple.stderr, /^dstream reduce-by-key-and-window: --length 2500ms is not a multiple of the input interval 1s\nUsage: dstream reduce-by-key-and-window FN/)
  const slide = await runWindow(['reduce-by-key-and-window', 'sum', '--length', '10s', '--slide', '1500ms'], [[['a', 1]]])
  t.equal(slide.code, 2, 'a slide that is not a multiple of the interval: exit 2')
  t.match(slide.stderr, /--slide 1500ms is not a multiple of the input interval 1s/)
  for (const [words, reason] of [
    [['sum'], /missing --length DUR/],
    [['sum', '--length', 'soon'], /bad --length 'soon'/],
    [['sum', '--length', '2s', '--filter', '_ => true'], /--filter needs --inverse/],
    [['sum', '--length', '2s', '--nope'], /Unknown argument: nope/],
    [['sum', '--length', '2s', '--inverse', '(a, b) =>'], /inverse function does not compile/]
  ] as Array<[string[], RegExp]>) {
    const ran = await runWords(['reduce-by-key-and-window', ...words, '--state-dir', t.testdir()], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, reason)
  }
})

t.test('restart: a run split in two equals an uninterrupted one', async t => {
  await checkRestart(t, ['reduce-by-key-and-window', 'sum', '--length', '3s', '--slide', '2s'], bigInput.slice(0, 8))
  await checkRestart(t, ['reduce-by-key-and-window', PLUS, '--inverse', MINUS, '--filter', '([k, v]) => v != 0', '--length', '2s'], bigInput.slice(0, 7))
  await checkRestart(t, ['reduce-by-key-and-window', PLUS, '--length', '4s', '--slide', '2s'], largerSlideInput)
  await checkRestart(t, ['reduce-by-key-and-window', 'sum', '--length', '2s'], [[[['x'], 1], [{ o: 1 }, 2]], [[['x'], 3]], [[{ o: 1 }, 1]]])
})
