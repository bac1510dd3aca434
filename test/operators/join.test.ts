// join, and what the five joins share (lib/ops/join.ts): --with and --static, pairing
// by time, reloads, bad input and usage. The other join files test their own shape.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords, sh, type TableOptions } from '../helpers.js'

/** A file of batches, for --with. */
function stream (dir: string, name: string, batches: unknown[][], options?: TableOptions): string {
  fs.writeFileSync(`${dir}/${name}`, batchLines(batches, options))
  return `${dir}/${name}`
}

// Spark's BasicOperationsSuite pairs s1.map(x => (x, 1)) with s2.map(x => (x, "x"))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const exes = (batches: string[][]) => batches.map(b => b.map(x => [x, 'x']))
const SPARK_LEFT = ones([['a', 'b'], ['a', ''], [''], []])
const SPARK_RIGHT = exes([['a', 'b'], ['b', ''], [], ['']])

t.test('cases', async t => {
  const dir = t.testdir({ 'prices.json': '[["apple", 3], ["pear", 5], ["apple", 4]]' })
  const right = stream(dir, 'right', SPARK_RIGHT)
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "join"
    ["Spark's join", ['--with', right], SPARK_LEFT, [[['a', [1, 'x']], ['b', [1, 'x']]], [['', [1, 'x']]], [], []]],
    ['every pair of values, keys in first-seen order', ['--static', `${dir}/prices.json`], [[['pear', 1], ['apple', 2], ['fig', 9], ['apple', 7]]],
      [[['pear', [1, 5]], ['apple', [2, 3]], ['apple', [2, 4]], ['apple', [7, 3]], ['apple', [7, 4]]]]],
    ['array and object keys by value', ['--with', stream(dir, 'keys', [[[['x', 1], 'r'], [{ b: 2, a: 1 }, 'o'], ['1', 's']]])],
      [[[['x', 1], 'l'], [{ a: 1, b: 2 }, 'm'], [1, 'n']]], [[[['x', 1], ['l', 'r']], [{ a: 1, b: 2 }, ['m', 'o']]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['join', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir()
  const right = stream(dir, 'right', SPARK_RIGHT, { chunk: 1 })
  const whole = await runTable(['join', '--with', right], SPARK_LEFT)
  const chunked = await runTable(['join', '--with', right], SPARK_LEFT, { chunk: 1 })
  t.same(chunked.records, whole.records, 'batches in chunks on either side give the same output')
  t.same(chunked.batches.map(b => b.time), [1000, 2000, 3000, 4000], 'one batch out for every batch time, empty ones too')

  const late = stream(dir, 'late', [[['a', 'r3']], [['a', 'r4']]], { start: 3000 })
  const ran = await runTable(['join', '--with', late], [[['a', 1]], [['a', 2]], [['a', 3]]])
  t.same(ran.batches.map(b => [b.time, b.records]), [[1000, []], [2000, []], [3000, [['a', [3, 'r3']]]], [4000, []]],
    'a side that starts later or ends earlier is empty at those times')

  const none = await runTable(['join', '--with', stream(dir, 'empty', [])], [])
  t.same([none.code, none.stdout], [0, ''], 'no input anywhere: no output, exit 0')

  const intervals = await runTable(['join', '--with', stream(dir, 'two', [[['a', 1]]], { interval: 2000 })], [[['a', 1]], [['a', 2]]])
  t.equal(intervals.code, 65, 'streams of different intervals: exit 65')
  t.match(intervals.stderr, /^dstream join: batch 1000: streams of different intervals cannot be paired: the input has 1000 ms, .*two has 2000 ms/)
})

t.test('--static is read again when the file changes', async t => {
  const dir = t.testdir({ 'black.json': '[["zs", true]]' })
  const batch = (time: number) => batchLines([[['zs', 'c1'], ['ls', 'c2']]], { start: time }).trim()
  // the real command, fed one batch at a time through a FIFO; the dataset rewritten between batches
  const ran = await sh(`
    cd ${dir} && mkfifo in && : > out
    dstream left-outer-join --static black.json < in > out & pid=$!
    exec 3> in
    n=0
    send () { echo "$1" >&3; n=$((n + 1)); until [ "$(wc -l < out)" -ge $n ] || ! kill -0 $pid 2>/dev/null; do sleep 0.02; done; }
    send '${batch(1000)}'
    echo '[["ls", true]]' > black.json
    send '${batch(2000)}'
    echo '[["ls", ' > black.json
    send '${batch(3000)}'
    printf '["zs", 1]\\n["ls", 2]\\n' > black.json
    send '${batch(4000)}'
    exec 3>&-
    wait $pid && cat out`)
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.stdout.trim().split('\n').map(l => JSON.parse(l).records), [
    [['zs', ['c1', true]], ['ls', ['c2', null]]],
    [['zs', ['c1', null]], ['ls', ['c2', true]]],
    [['zs', ['c1', null]], ['ls', ['c2', true]]],
    [['zs', ['c1', 1]], ['ls', ['c2', 2]]]
  ], 'each batch sees the file as it was when the batch came (a JSON array, a broken file, then NDJSON)')
  t.match(ran.stderr, /^dstream left-outer-join: batch 3000: --static: black.json changed but cannot be read .*; keeping the version read before\n$/, 'a broken rewrite is said once')
})

t.test('--max-wait: a side that is behind is taken as empty', async t => {
  const dir = t.testdir()
  stream(dir, 'right', [[['a', 'r1']], [['a', 'r2']], [['a', 'r3']]])
  // the right side gives batch 1000 at once, 2000 and 3000 only after 1.5 s; the input comes at once
  const ran = await sh(`cd ${dir} && dstream join --max-wait 300ms --with <(head -1 right; sleep 1.5; tail -n +2 right)`,
    { input: batchLines([[['a', 1]], [['a', 2]], [['a', 3]]]) })
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', [1, 'r1']]], [], []],
    'batches 2000 and 3000 go out without the right side')
  t.match(ran.stderr, /dstream join: batch 2000: waited 300ms for .*; taking its batch as empty/, 'the wait is said on stderr')
  t.match(ran.stderr, /dstream join: batch 2000 of .* came after it was taken as empty; dropped/, 'and the late batch is said too')

  const patient = await sh(`cd ${dir} && dstream join --with <(head -1 right; sleep 0.5; tail -n +2 right)`, { input: batchLines([[['a', 1]], [['a', 2]], [['a', 3]]]) })
  t.same(patient.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', [1, 'r1']]], [['a', [2, 'r2']]], [['a', [3, 'r3']]]],
    'without --max-wait the join waits as long as it takes')
})

t.test('bad input', async t => {
  const dir = t.testdir({ 'odd.json': '[["a", 1], "b"]' })
  const right = stream(dir, 'right', [[['a', 'x'], 'oops']])
  const left = await runTable(['join', '--with', right], [[['a', 1]]])
  t.equal(left.code, 65, 'a --with record that is not a pair: exit 65')
  t.match(left.stderr, /^dstream join: batch 1000: expected a \[key, value\] pair from the --with stream: "oops"\n/, 'names operator, batch and record')

  const input = await runTable(['join', '--static', `${dir}/odd.json`], [[['a', 1], 7]])
  t.equal(input.code, 65)
  t.match(input.stderr, /^dstream join: batch 1000: expected a \[key, value\] pair from the input: 7\n/, 'an input record that is not a pair')

  const skipped = await runTable(['join', '--static', `${dir}/odd.json`, '--on-bad-input', 'skip', '--dead-letter', `${dir}/dead`], [[['a', 1], 7], [['a', 2]]])
  t.same([skipped.code, skipped.records], [0, [[['a', [1, 1]]], [['a', [2, 1]]]]], '--on-bad-input skip: the rest flows')
  t.same(fs.readFileSync(`${dir}/dead`, 'utf8').trim().split('\n').map(l => JSON.parse(l).record), [7, 'b'],
    'the bad records are set aside, the dataset\'s once per version of the file')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['join'], /^dstream join: needs --with STREAM or --static FILE\nUsage: dstream join/],
    [['join', '--with', 'package.json', '--static', 'package.json'], /takes --with STREAM or --static FILE, not both/],
    [['join', '--with', 'a', '--with', 'b'], /--with given more than once/],
    [['join', '--static', '/no/such.json'], /^dstream join: --static \/no\/such.json: no such file/],
    [['join', '--with', '/no/such/stream'], /--with \/no\/such\/stream: no such file or FIFO/],
    [['join', '--static', 'package.json', '--max-wait', '1s'], /--max-wait goes with --with STREAM/],
    [['join', '--with', 'package.json', '--max-wait', 'soon'], /bad --max-wait 'soon'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords(words, '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})
