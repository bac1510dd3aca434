import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords, type TableOptions } from '../helpers.js'

// Each run gets a state directory of its own, so no checkpoint is shared by accident.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-map-with-state-'))
t.teardown(() => fs.rmSync(STATE, { recursive: true, force: true }))
let runs = 0
const run = (words: string[], input: unknown[][], options?: TableOptions) => runTable([...words, '--state-dir', `${STATE}/${++runs}`], input, options)

// MapWithStateSuite feeds inputStream.map(x => (x, 1))
const ones = (batches: string[][]) => batches.map(b => b.map(x => [x, 1]))
const INPUT = ones([[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []])
const COUNTS = [[], [['a', 1]], [['a', 2], ['b', 1]], [['a', 3], ['b', 2], ['c', 1]], [['a', 4], ['b', 3], ['c', 1]], [['a', 5], ['b', 3], ['c', 1]], [['a', 5], ['b', 3], ['c', 1]]]

t.test("cases from Spark's MapWithStateSuite: outputs and state snapshots", async t => {
  const dir = t.testdir({ 'initial.json': '[["a", 5], ["b", 10], ["c", -20], ["d", 0]]' })
  const count = (returned: string) => `(key, value, state) => { const sum = (value ?? 0) + (state.get() ?? 0); state.update(sum); return ${returned} }`
  const cases: Array<[string, string[], unknown[][], unknown[][], unknown[][]]> = [
    ['basic operations with simple API', [count('sum')], INPUT, [[], [1], [2, 1], [3, 2, 1], [4, 3], [5], []], COUNTS],
    ['basic operations with advanced API', [count('key + key')], INPUT, [[], ['aa'], ['aa', 'bb'], ['aa', 'bb', 'cc'], ['aa', 'bb'], ['aa'], []], COUNTS],
    ['states as mapped data', [count('[key, sum]')], INPUT, COUNTS.map((c, i) => c.filter(([k]) => (INPUT[i] as string[][]).some(([x]) => x === k))), COUNTS],
    ['initial states, with nothing returned as from mapping function', [count('undefined'), '--initial', `${dir}/initial.json`], INPUT, INPUT.map(() => []), [
      [['a', 5], ['b', 10], ['c', -20], ['d', 0]],
      [['a', 6], ['b', 10], ['c', -20], ['d', 0]],
      [['a', 7], ['b', 11], ['c', -20], ['d', 0]],
      [['a', 8], ['b', 12], ['c', -19], ['d', 0]],
      [['a', 9], ['b', 13], ['c', -19], ['d', 0]],
      [['a', 10], ['b', 13], ['c', -19], ['d', 0]],
      [['a', 10], ['b', 13], ['c', -19], ['d', 0]]
    ]],
    ['state removing', ['(key, value, state) => { if (state.exists()) { state.remove(); return key } state.update(value) }'],
      ones([[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []]),
      [[], [], ['a'], ['b'], ['a', 'c'], ['b'], ['a'], []],
      [[], [['a', 1]], [['b', 1]], [['a', 1], ['c', 1]], [['b', 1]], [['a', 1]], [], []]]
  ]
  for (const [name, args, input, outputs, snapshots] of cases) {
    const mapped = await run(['map-with-state', ...args], input)
    t.equal(mapped.code, 0, `${name}: exit 0 ${mapped.stderr}`)
    t.same(mapped.records, outputs, `${name}: outputs`)
    const states = await run(['map-with-state', ...args, '--snapshots'], input)
    t.same(states.records, snapshots, `${name}: state snapshots`)
  }

  // "state timing out": b and c come out once each, when they time out
  const timeout = ['map-with-state', '(key, value, state) => { if (value !== undefined) state.update(1); if (state.isTimingOut()) return key }', '--timeout', '3s']
  const input = [...ones([['a', 'b', 'c'], ['a', 'b'], ['a'], [], [], ['a']]), ...ones(Array(20).fill(['a']))]
  const mapped = await run(timeout, input)
  t.same(mapped.records.flat().sort(), ['b', 'c'], 'timing out: b and c are returned once each')
  t.same(mapped.batches.filter(b => b.records.length).map(b => [b.time, b.records]), [[5000, ['c']], [6000, ['b']]],
    'at the first batch more than 3 s after their last record')
  const states = await run([...timeout, '--snapshots'], input)
  t.ok(states.records.some(s => JSON.stringify(s) === '[["a",1],["b",1],["c",1]]'), 'the states of a, b and c are held at one point')
  t.same(states.records.at(-1), [['a', 1]], 'and in the end only a')
})

t.test('the sessions job (EXAMPLES 11)', async t => {
  const dir = t.testdir({ 'initial.json': '[["flink", 100], ["sparkstreaming", 32]]' })
  const fn = '(w, one, state) => { if (!state.isTimingOut()) state.update((state.get() ?? 0) + one) }'
  const input = [[['flink', 1], ['spark', 1]], [['spark', 1]], [], [], [['flink', 1]]]
  const ran = await run(['map-with-state', fn, '--initial', `${dir}/initial.json`, '--timeout', '10s', '--snapshots'], input, { interval: 5000 })
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.records, [
    [['flink', 101], ['sparkstreaming', 32], ['spark', 1]],
    [['flink', 101], ['sparkstreaming', 32], ['spark', 2]],
    [['flink', 101], ['sparkstreaming', 32], ['spark', 2]],
    [['spark', 2]],
    [['flink', 1]]
  ], 'counts from the initial state; keys idle for more than 10 s forgotten (the initial ones count from the first batch)')
})

t.test('edge cases', async t => {
  const calls = await run(['map-with-state', '(k, v, s, time) => [k, v, s.exists(), s.get(), time]'], [[['a', 1]], [], [['a', 2]]])
  t.same(calls.records, [[['a', 1, false, null, 1000]], [], [['a', 2, false, null, 3000]]], 'no update, no state; an empty batch calls nothing')

  const returned = await run(['map-with-state', '(k, v) => v === 1 ? undefined : v'], [[['a', null], ['b', 1], ['c', 2]]])
  t.same(returned.records, [[null, 2]], 'null is emitted; only undefined emits nothing (Spark\'s None)')

  const input = [[['a', 1], ['b', 1], ['a', 1], ['c', 1], ['a', 1]], [], [['c', 1], ['b', 1]]]
  const fn = '(k, v, s) => { s.update((s.get() ?? 0) + v); return [k, s.get()] }'
  const whole = await run(['map-with-state', fn], input)
  const chunked = await run(['map-with-state', fn], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
  t.same(whole.records, [[['a', 1], ['b', 1], ['a', 2], ['c', 1], ['a', 3]], [], [['c', 2], ['b', 2]]], 'once per record, in order')

  const keys = await run(['map-with-state', fn, '--snapshots'], [[[['x', 1], 1], [{ a: 1, b: 2 }, 1]], [[['x', 1], 1], [{ b: 2, a: 1 }, 5]]])
  t.same(keys.records.at(-1), [[['x', 1], 2], [{ a: 1, b: 2 }, 6]], 'array and object keys by value')

  const idle = await run(['map-with-state', '(k, v, s) => { if (s.isTimingOut()) return ["gone", k, s.get()]; s.update(v) }', '--timeout', '2s'],
    [[['a', 1], ['b', 1]], [['a', 2]], [['a', 3]], [], [], []])
  t.same(idle.records, [[], [], [], [['gone', 'b', 1]], [], [['gone', 'a', 3]]], 'a timing-out key is called once, with its state, then removed')

  const touched = await run(['map-with-state', '(k, v, s) => { if (s.isTimingOut()) return k; if (!s.exists()) s.update(v) }', '--timeout', '1s'],
    [[['a', 1]], [['a', 1]], [['a', 1]], [], []])
  t.same(touched.records, [[], [], [], [], ['a']], 'a record of a key with state keeps it alive, updated or not (as Spark)')

  const none = await run(['map-with-state', fn], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('restart from the state directory', async t => {
  const dir = t.testdir()
  const fn = '(k, v, s) => { if (s.isTimingOut()) return ["gone", k]; s.update((s.get() ?? 0) + v); return [k, s.get()] }'
  const input = [[['a', 1], ['b', 1]], [['a', 1]], [['a', 1]], [], [['b', 1]]]
  const words = ['map-with-state', fn, '--timeout', '2s']
  const whole = await runTable([...words, '--state-dir', `${dir}/whole`], input)
  const first = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(0, 2))
  const rest = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(2), { start: 3000 })
  t.equal(rest.code, 0, rest.stderr)
  t.same([...first.records, ...rest.records], whole.records, 'a run split in two gives the output of one run, timeouts included')
  t.same(whole.records, [[['a', 1], ['b', 1]], [['a', 2]], [['a', 3]], [['gone', 'b']], [['b', 1]]])
  const [name] = fs.readdirSync(`${dir}/split`).filter(f => f.startsWith('map-with-state'))
  t.same(JSON.parse(fs.readFileSync(`${dir}/split/${name}/checkpoint-5000.json`, 'utf8')).state, [['a', 3, 3000], ['b', 1, 5000]],
    'the checkpoint holds [key, state, last update time] as plain JSON')
})

t.test('bad input', async t => {
  const bad = await run(['map-with-state', '(k, v) => v'], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream map-with-state: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch and record')
  t.same(bad.records, [[1]])

  const fn = '(k, v, s) => { s.update((s.get() ?? 0) + 1); return k + v.n }'
  const threw = await run(['map-with-state', fn], [[['a', { n: 1 }]], [['a', { n: 2 }], ['b', null]]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream map-with-state: batch 2000: function threw TypeError: .*\n\s+on record \{"key":"b","value":null,"state":1\}/, 'names the batch, the key and the value')

  const dead = `${t.testdir()}/dead`
  const skipped = await run(['map-with-state', fn, '--snapshots', '--on-error', 'skip', '--dead-letter', dead], [[['a', { n: 1 }]], [['a', null], ['b', null]], [['a', { n: 2 }]]])
  t.same([skipped.code, skipped.records], [0, [[['a', 1]], [['a', 1]], [['a', 2]]]], '--on-error skip: an update made before the throw does not count')
  t.same(fs.readFileSync(dead, 'utf8').trim().split('\n').map(l => JSON.parse(l).record), [{ key: 'a', value: null, state: 2 }, { key: 'b', value: null, state: 1 }],
    'the records set aside, with the state as FN left it')

  const updating = await run(['map-with-state', '(k, v, s) => { s.update(v) }', '--timeout', '1s'], [[['a', 1]], [], []])
  t.equal(updating.code, 65, 'update() on a key that is timing out throws, as in Spark')
  t.match(updating.stderr, /^dstream map-with-state: batch 3000: function threw Error: cannot update the state of a key that is timing out/)
  const removing = await run(['map-with-state', '(k, v, s) => { s.remove(); s.remove() }'], [[['a', 1]]])
  t.match(removing.stderr, /function threw Error: cannot remove a state that has been removed/, 'so does a second remove()')
  const nothing = await run(['map-with-state', '(k, v, s) => { s.update(undefined) }'], [[['a', 1]]])
  t.match(nothing.stderr, /function threw TypeError: state.update\(\) needs a value: use state.remove\(\)/, 'and update(undefined)')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['map-with-state'], /^dstream map-with-state: missing FN\nUsage: dstream map-with-state/],
    [['map-with-state', '(k, v, s) =>'], /mapping function does not compile/],
    [['map-with-state', '(k, v) => v', '--timeout', 'soon'], /^dstream map-with-state: bad --timeout 'soon'/],
    [['map-with-state', '(k, v) => v', '--initial', '/no/such.json'], /^dstream map-with-state: --initial \/no\/such.json: no such file\nUsage: /]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords([...words, '--state-dir', `${STATE}/usage`], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})
