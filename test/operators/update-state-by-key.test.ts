import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords, type TableOptions } from '../helpers.js'

// Each run gets a state directory of its own, so no checkpoint is shared by accident.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-update-state-by-key-'))
t.teardown(() => fs.rmSync(STATE, { recursive: true, force: true }))
let runs = 0
const run = (words: string[], input: unknown[][], options?: TableOptions) => runTable([...words, '--state-dir', `${STATE}/${++runs}`], input, options)

// Spark's BasicOperationsSuite feeds s.map(x => (x, 1))
const ones = (batches: Array<string[] | null>) => batches.map(b => (b ?? []).map(x => [x, 1]))
const SUM = '(vs, s) => vs.reduce((a, b) => a + b, 0) + (s ?? 0)'
const INPUT = ones([['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []])

t.test('cases', async t => {
  const dir = t.testdir({ 'initial.json': '[["a", 1], ["c", 2]]', 'zero.ndjson': '["a", 0]\n["c", 0]\n' })
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // BasicOperationsSuite "updateStateByKey"
    ["Spark's updateStateByKey", [SUM], INPUT,
      [[['a', 1]], [['a', 2], ['b', 1]], [['a', 3], ['b', 2], ['c', 1]], [['a', 4], ['b', 3], ['c', 1]], [['a', 5], ['b', 3], ['c', 1]], [['a', 5], ['b', 3], ['c', 1]]]],
    // "updateStateByKey - simple with initial value RDD" (and "- with initial value RDD"): the initial keys are seen first
    ['with an initial state', [SUM, '--initial', `${dir}/initial.json`], INPUT,
      [[['a', 2], ['c', 2]], [['a', 3], ['c', 2], ['b', 1]], [['a', 4], ['c', 3], ['b', 2]], [['a', 5], ['c', 3], ['b', 3]], [['a', 6], ['c', 3], ['b', 3]], [['a', 6], ['c', 3], ['b', 3]]]],
    // "updateStateByKey - testing time stamps as input": FN's key and time arguments
    ['the batch time as input', ['(vs, s = 0, key, time) => vs.length ? time + s : s', '--initial', `${dir}/zero.ndjson`], INPUT,
      [[['a', 1000], ['c', 0]], [['a', 3000], ['c', 0], ['b', 2000]], [['a', 6000], ['c', 3000], ['b', 5000]], [['a', 10000], ['c', 3000], ['b', 9000]],
        [['a', 15000], ['c', 3000], ['b', 9000]], [['a', 15000], ['c', 3000], ['b', 9000]]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await run(['update-state-by-key', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }

  // "updateStateByKey - object lifecycle": a state dropped after two batches without values;
  // Spark's missing batches (null) are empty batches here
  const lifecycle = `(vs, s = { counter: 0, expire: 0 }) => {
    const n = vs.reduce((a, b) => a + b, 0)
    if (n === 0) s.expire += 1
    else { s.counter += n; s.expire = 0 }
    return s.expire === 2 ? undefined : s
  }`
  const ran = await runTable(['update-state-by-key', lifecycle, '--state-dir', `${STATE}/lifecycle`, 'then', 'map-values', '_.counter'], ones([['a', 'b'], null, ['a', 'c', 'a'], ['c'], null, null]))
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.records, [[['a', 1], ['b', 1]], [['a', 1], ['b', 1]], [['a', 3], ['c', 1]], [['a', 3], ['c', 2]], [['c', 2]], []], "Spark's object lifecycle")
})

t.test('edge cases', async t => {
  const calls = await run(['update-state-by-key', '(vs, s, k, time) => [...(s ?? []), `${time}:${vs.length}`]'], [[['a', 1], ['a', 2]], [], [['b', 1]]])
  t.same(calls.records, [[['a', ['1000:2']]], [['a', ['1000:2', '2000:0']]], [['a', ['1000:2', '2000:0', '3000:0']], ['b', ['3000:1']]]],
    'FN is called for every key held on every batch, empty ones too, with the values of the batch')

  const removed = await run(['update-state-by-key', '(vs, s) => vs.length ? vs.at(-1) : null'], [[['a', 1], ['b', 2]], [['b', 3]], [['a', 4]]])
  t.same(removed.records, [[['a', 1], ['b', 2]], [['b', 3]], [['a', 4]]], 'null removes a key (so does undefined)')
  const back = await run(['update-state-by-key', '(vs, s) => vs.length ? vs[0] : (s === "x" ? undefined : s)'], [[['x', 'x'], ['y', 'y']], [], [['x', 'x']]])
  t.same(back.records, [[['x', 'x'], ['y', 'y']], [['y', 'y']], [['y', 'y'], ['x', 'x']]], 'a key that comes back after its removal is new: it goes last')

  const input = [[['a', 1], ['b', 1], ['a', 1], ['c', 1], ['a', 1]], [], [['c', 1], ['b', 1], ['b', 1]]]
  const whole = await run(['update-state-by-key', SUM], input)
  const chunked = await run(['update-state-by-key', SUM], input, { chunk: 2 })
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
  t.same(whole.records.at(-1), [['a', 3], ['b', 3], ['c', 2]])

  const keys = await run(['update-state-by-key', SUM], [[[['x', 1], 1], [{ a: 1, b: 2 }, 1]], [[['x', 1], 1], [{ b: 2, a: 1 }, 5]]])
  t.same(keys.records.at(-1), [[['x', 1], 2], [{ a: 1, b: 2 }, 6]], 'array and object keys by value')

  const none = await run(['update-state-by-key', SUM], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('restart from the state directory', async t => {
  const dir = t.testdir()
  const whole = await runTable(['update-state-by-key', SUM, '--state-dir', `${dir}/whole`], INPUT)
  const first = await runTable(['update-state-by-key', SUM, '--state-dir', `${dir}/split`], INPUT.slice(0, 3))
  const rest = await runTable(['update-state-by-key', SUM, '--state-dir', `${dir}/split`], INPUT.slice(3), { start: 4000 })
  t.equal(rest.code, 0, rest.stderr)
  t.same([...first.records, ...rest.records], whole.records, 'a run split in two gives the output of one run')
  t.match(rest.stderr, /resuming from the checkpoint of batch 3000/)
  const [name] = fs.readdirSync(`${dir}/split`).filter(f => f.startsWith('update-state-by-key'))
  const saved = JSON.parse(fs.readFileSync(`${dir}/split/${name}/checkpoint-6000.json`, 'utf8'))
  t.same(saved.state, [['a', 5], ['b', 3], ['c', 1]], 'the checkpoint holds [key, state] pairs as plain JSON')

  const initial = t.testdir({ 'initial.json': '[["a", 100]]' })
  const again = await runTable(['update-state-by-key', SUM, '--initial', `${initial}/initial.json`, '--state-dir', `${dir}/init`, '--name', 'counts'], INPUT.slice(0, 1))
  const restored = await runTable(['update-state-by-key', SUM, '--initial', `${initial}/initial.json`, '--state-dir', `${dir}/init`, '--name', 'counts'], INPUT.slice(1, 2), { start: 2000 })
  t.same([again.records, restored.records], [[[['a', 101]]], [[['a', 102], ['b', 1]]]], '--initial is not applied again over a restored checkpoint')

  const file = `${dir}/init/counts/checkpoint-2000.json`
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), state: { a: 1 } }))
  const wrong = await runTable(['update-state-by-key', SUM, '--initial', `${initial}/initial.json`, '--state-dir', `${dir}/init`, '--name', 'counts'], INPUT.slice(2, 3), { start: 3000 })
  t.equal(wrong.code, 1, 'a checkpoint whose state is not [key, state] entries is refused')
  t.match(wrong.stderr, /^dstream update-state-by-key: the checkpoint .*init\/counts\/checkpoint-2000\.json cannot be restored \(the state is not a list of \[key, state\] entries, but \{"a":1\}\); it is kept as it is.*dstream state reset counts/)
  t.same(JSON.parse(fs.readFileSync(file, 'utf8')).state, { a: 1 }, 'and left as it is')
})

t.test('bad input', async t => {
  const bad = await run(['update-state-by-key', SUM], [[['a', 1]], [['b', 2], 'x']])
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream update-state-by-key: batch 2000: expected a \[key, value\] pair: "x"\n/, 'names operator, batch and record')
  t.same(bad.records, [[['a', 1]]], 'batches before it came out')

  const threw = await run(['update-state-by-key', '(vs, s = 0) => s + vs.reduce((a, v) => a + v.n, 0)'], [[['a', { n: 1 }]], [['a', { n: 2 }], ['b', null]]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream update-state-by-key: batch 2000: function threw TypeError: .*\n\s+on record \{"key":"b","values":\[null\]\}/, 'names the batch, the key and its values')

  const dead = `${t.testdir()}/dead`
  const skipped = await run(['update-state-by-key', '(vs, s = 0) => s + vs.reduce((a, v) => a + v.n, 0)', '--on-error', 'skip', '--dead-letter', dead],
    [[['a', { n: 1 }]], [['a', null], ['b', null]], [['a', { n: 2 }]]])
  t.same([skipped.code, skipped.records], [0, [[['a', 1]], [['a', 1]], [['a', 3]]]], '--on-error skip: the key keeps its state (a new key gets none)')
  t.same(fs.readFileSync(dead, 'utf8').trim().split('\n').map(l => JSON.parse(l)).map(d => [d.time, d.record]),
    [[2000, { key: 'a', values: [null], state: 1 }], [2000, { key: 'b', values: [null] }]], 'the values set aside name their key')

  const dir = t.testdir({ 'odd.json': '[["a", 1], ["b"]]', 'nulls.json': '[["a", null]]' })
  const initial = await run(['update-state-by-key', SUM, '--initial', `${dir}/odd.json`], [[]])
  t.equal(initial.code, 65, 'an --initial file with something else than pairs: exit 65')
  t.match(initial.stderr, /^dstream update-state-by-key: --initial .*odd.json: expected \[key, state\] pairs with a state, got \["b"\]/)
  const nulls = await run(['update-state-by-key', SUM, '--initial', `${dir}/nulls.json`], [[]])
  t.equal(nulls.code, 65, 'a null initial state: exit 65')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['update-state-by-key'], /^dstream update-state-by-key: missing FN\nUsage: dstream update-state-by-key/],
    [['update-state-by-key', '(vs, s) =>'], /update function does not compile/],
    [['update-state-by-key', SUM, '--initial', '/no/such.json'], /^dstream update-state-by-key: --initial \/no\/such.json: no such file\nUsage: /],
    [['update-state-by-key', SUM, 'extra'], /unexpected argument 'extra'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords([...words, '--state-dir', `${STATE}/usage`], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})
