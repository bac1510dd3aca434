import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords, sh } from '../helpers.js'

t.test('cases', async t => {
  const dir = t.testdir({
    'blocked.json': '["b", "c"]',
    'prices.ndjson': '["apple", 3]\n\n["pear", 5]\n',
    'pair.ndjson': '["only", 1]\n',
    'pretty.json': '[\n  {"id": 1},\n  {"id": 2}\n]\n',
    'lines.txt': '{"id": 1}\n"two"\n'
  })
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['sorted', ['rs => [...rs].sort()'], [['b', 'a', 'c'], []], [['a', 'b', 'c'], []]],
    ['the batch time', ['(rs, t) => [t, rs.length]'], [['x'], ['y', 'z']], [[1000, 1], [2000, 2]]],
    ['an expression in _', ['_.slice(0, 2)'], [[1, 2, 3]], [[1, 2]]],
    ['async', ['async rs => { await new Promise(r => setTimeout(r, 5)); return rs.reverse() }'], [[1, 2, 3], [4]], [[3, 2, 1], [4]]],
    ['a dataset (a JSON array)', ['(rs, t, env) => rs.filter(r => !env.blocked.includes(r))', '--with', `blocked=${dir}/blocked.json`], [['a', 'b', 'c', 'd']], [['a', 'd']]],
    ['NDJSON, blank lines skipped', ['(rs, t, env) => rs.map(r => [r, new Map(env.prices).get(r)])', '--with', `prices=${dir}/prices.ndjson`], [['pear', 'apple']], [[['pear', 5], ['apple', 3]]]],
    ['an .ndjson file of one array is one record', ['(rs, t, env) => env.p', '--with', `p=${dir}/pair.ndjson`], [[]], [[['only', 1]]]],
    ['a JSON array on many lines', ['(rs, t, env) => env.p', '--with', `p=${dir}/pretty.json`], [[]], [[{ id: 1 }, { id: 2 }]]],
    ['NDJSON in any other file', ['(rs, t, env) => env.p', '--with', `p=${dir}/lines.txt`], [[]], [[{ id: 1 }, 'two']]],
    ['two datasets, before FN', ['--with', `a=${dir}/blocked.json`, '--with', `b=${dir}/pair.ndjson`, '(rs, t, env) => [env.a.length, env.b.length]'], [[]], [[2, 1]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['transform', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const calls = await runTable(['transform', '(rs, t) => [t]'], [[], ['x'], []])
  t.same(calls.records, [[1000], [2000], [3000]], 'FN is called for empty batches too')
  const empty = await runTable(['transform', 'rs => []'], [['x']])
  t.same(empty.records, [[]], 'returning [] gives an empty batch')

  const records = Array.from({ length: 10 }, (_, i) => i)
  const chunked = await runTable(['transform', 'rs => [rs.length, rs.at(-1)]'], [records, [1]], { chunk: 3 })
  t.same(chunked.records, [[10, 9], [1, 1]], 'FN is called once per whole batch, chunks assembled')
  t.equal(chunked.chunks.length, 2, 'one chunk out for each batch')

  const none = await runTable(['transform', 'rs => [1]'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input: FN is not called, exit 0')

  const open = await runWords(['transform', 'rs => [rs.length]'], '{"time":1000,"interval":1000,"records":["a"],"more":true}\n')
  t.same([open.code, open.stdout], [1, ''], 'input ending inside a batch (the command before died): exit 1, and FN never sees the partial batch')
})

t.test('datasets reloaded when the file changes', async t => {
  const dir = t.testdir({ 'blocked.json': '["b"]' })
  const batch = (time: number) => batchLines([['a', 'b', 'c']], { start: time }).trim()
  // the real command, fed one batch at a time; the dataset rewritten between batches
  const ran = await sh(`
    cd ${dir} && mkfifo in && : > out
    dstream transform '(rs, t, env) => rs.filter(r => !env.blocked.includes(r))' --with blocked=blocked.json < in > out & pid=$!
    exec 3> in
    n=0
    send () { echo "$1" >&3; n=$((n + 1)); until [ "$(wc -l < out)" -ge $n ]; do sleep 0.02; done; }
    send '${batch(1000)}'
    echo '["a", "c"]' > blocked.json
    send '${batch(2000)}'
    echo '["a", ' > blocked.json
    send '${batch(3000)}'
    send '${batch(4000)}'
    rm blocked.json
    send '${batch(5000)}'
    echo '"c"' > blocked.json
    send '${batch(6000)}'
    exec 3>&-
    wait $pid && cat out`)
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.stdout.trim().split('\n').map(l => JSON.parse(l).records), [['a', 'c'], ['b'], ['b'], ['b'], ['b'], ['a', 'b']],
    'each batch sees the file as it was when the batch came; a broken or gone file keeps the last good version')
  t.match(ran.stderr, /^dstream transform: batch 3000: --with blocked: blocked.json changed but cannot be read \(not a JSON array \(.*\)\); keeping the version read before\ndstream transform: batch 5000: --with blocked: blocked.json changed but cannot be read \(no such file\); keeping the version read before\n$/,
    'said once for each change, naming the batch and the file')
})

t.test('bad input', async t => {
  const returned = await runTable(['transform', '(rs, t) => t > 1000 ? rs.length : rs'], [['a'], ['b', 'c']])
  t.equal(returned.code, 65, 'FN returning something else than an array: exit 65')
  t.match(returned.stderr, /^dstream transform: batch 2000: FN must return an array of records, but returned: 2\n/, 'names the operator, the batch and what came back')
  t.same(returned.records, [['a']], 'the batches before it came out')

  const nothing = await runTable(['transform', 'rs => { rs.sort() }'], [['a']])
  t.match(nothing.stderr, /batch 1000: FN must return an array of records, but returned: undefined/, 'a forgotten return is named')

  const threw = await runTable(['transform', 'rs => rs.map(r => r.toUpperCase())'], [['a'], ['b', 7]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /dstream transform: batch 2000: function threw TypeError: .*\n\s+on arguments \[\["b",7\],2000\]/, 'names the batch and its records')

  const rejected = await runTable(['transform', 'async rs => { throw new RangeError("no") }'], [['a']])
  t.equal(rejected.code, 65, 'an async FN that rejects: exit 65')
  t.match(rejected.stderr, /dstream transform: batch 1000: function threw RangeError: no\n\s+on arguments \[\["a"\],1000\]/, 'as a throw')

  const dir = t.testdir({ 'bad.ndjson': '1\n{oops\n', 'bad.json': '[1, 2', 'object.json': '{\n  "a": 1\n}\n' })
  const skipped = await runTable(['transform', 'rs => rs.map(r => r.toUpperCase())', '--on-error', 'skip', '--dead-letter', `${dir}/dead`], [['a'], [7], ['b']])
  t.same([skipped.code, skipped.records], [0, [['A'], [], ['B']]], '--on-error skip: the batch is set aside, an empty batch goes on')
  t.same(JSON.parse(fs.readFileSync(`${dir}/dead`, 'utf8')), { operator: 'transform', time: 2000, reason: "function threw TypeError: r.toUpperCase is not a function", record: [[7], 2000] }, 'in the dead-letter file')

  const badLines = await runTable(['transform', 'rs => rs', '--with', `d=${dir}/bad.ndjson`], [['a']])
  t.equal(badLines.code, 65, 'a dataset that does not parse at the start: exit 65')
  t.match(badLines.stderr, /^dstream transform: .*bad.ndjson: line 2 is not JSON \(.*\): "\{oops"/, 'names the file and the line')
  const badArray = await runTable(['transform', 'rs => rs', '--with', `d=${dir}/bad.json`], [['a']])
  t.match(badArray.stderr, /^dstream transform: .*bad.json: not a JSON array \(/, 'a broken JSON array is named as such')
  const object = await runTable(['transform', 'rs => rs', '--with', `d=${dir}/object.json`], [['a']])
  t.match(object.stderr, /^dstream transform: .*object.json: one JSON value over several lines that is not an array/, 'so is one object over several lines')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['transform'], /missing FN/],
    [['transform', 'rs =>'], /function does not compile/],
    [['transform', 'rs => rs', '--with', 'noequals'], /--with expects NAME=FILE, got 'noequals'/],
    [['transform', 'rs => rs', '--with', 'd=/no/such.json'], /--with d=\/no\/such.json: no such file/],
    [['transform', 'rs => rs', '--with', 'd=package.json', '--with', 'd=package.json'], /--with d given twice/],
    [['transform', 'rs => rs', 'extra'], /unexpected argument 'extra'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords(words, '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /^dstream transform: /)
  }
})
