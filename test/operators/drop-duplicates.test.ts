import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import dropDuplicates from '../../operators/drop-duplicates.js'
import { OperatorContext } from '../../lib/engine/context.js'
import { DeadLetter } from '../../lib/durability/deadLetter.js'
import { runTable, runWords, sh, type TableOptions } from '../helpers.js'

// Each run gets a state directory of its own, so no checkpoint is shared by accident.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-drop-duplicates-'))
t.teardown(() => fs.rmSync(STATE, { recursive: true, force: true }))
let runs = 0
const run = (words: string[], input: unknown[][], options?: TableOptions) => runTable([...words, '--state-dir', `${STATE}/${++runs}`], input, options)

/** The lines of a dead-letter file. */
const deadLetters = (file: string): Array<{ operator: string, time: number, reason: string, record: unknown }> =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l)) : []

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['the whole record, for ever', [], [['a', 'b', 'a'], ['b', 'c'], [], ['a', 'd']], [['a', 'b'], ['c'], [], ['d']]],
    ['records compare by value', [], [[{ a: 1, b: [2] }, { b: [2], a: 1 }, [1, 2], [2, 1], 1, '1']], [[{ a: 1, b: [2] }, [1, 2], [2, 1], 1, '1']]],
    ['by a key: the first record of a key is kept', ['_.guid'], [[{ guid: 1, n: 1 }, { guid: 2, n: 2 }, { guid: 1, n: 3 }], [{ guid: 2, n: 4 }, { guid: 3, n: 5 }]],
      [[{ guid: 1, n: 1 }, { guid: 2, n: 2 }], [{ guid: 3, n: 5 }]]],
    ['an array key', ['r => [r.user, r.page]'], [[{ user: 'u', page: 1 }, { user: 'u', page: 2 }, { user: 'u', page: 1 }]], [[{ user: 'u', page: 1 }, { user: 'u', page: 2 }]]],
    // --within 3s with 1 s batches: remembered in its own batch and the next two
    ['within a horizon', ['--within', '3s'], [['a'], ['a', 'b'], ['a'], ['a', 'b'], [], ['b'], ['a']], [['a'], ['b'], [], ['a'], [], ['b'], ['a']]],
    ['a dropped repeat does not extend the horizon', ['--within', '2000'], [['a'], ['a'], ['a'], ['a'], ['a']], [['a'], [], ['a'], [], ['a']]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await run(['drop-duplicates', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

// Spark 3.5.9 Structured Streaming, run on these inputs (a file source, one file per
// micro-batch, foreachBatch collecting each batch; no-data batches left on, so each data
// batch came after the watermark of the ones before it had been applied): records
// [guid, t] with t in seconds, `withWatermark("ts", "10 seconds")` then
// `dropDuplicatesWithinWatermark("guid")` unless said otherwise. Spark's output rows and
// its numRowsDroppedByWatermark are the expected output and the late records here.
t.test('by event time: the cases run in Spark', async t => {
  const rec = ([guid, s]: [string, number]) => ({ guid, ts: s * 1000 })
  const cases: Array<[string, string[], Array<Array<[string, number]>>, Array<Array<[string, number]>>, Array<[string, number]>]> = [
    // late iff ts <= watermark (Spark's `<=`: d at exactly 95 s is dropped, 2 dropped by
    // the watermark); a repeat of a key is dropped even with another event time (a at 101 s)
    ['late at or before the watermark; repeats dropped', [],
      [[['a', 100], ['b', 105]], [['a', 100], ['a', 101], ['c', 94], ['d', 95], ['e', 96]], [['f', 200]], [['a', 195], ['b', 196]]],
      [[['a', 100], ['b', 105]], [['e', 96]], [['f', 200]], [['a', 195], ['b', 196]]],
      [['c', 94], ['d', 95]]],
    // dropDuplicates("guid", "ts"): FN gives the key and the event time; a at 101 s is
    // new, f at 200 s is still remembered (200 > watermark 190)
    ['Spark\'s dropDuplicates(guid, ts) is FN [guid, ts]', ['r => [r.guid, r.ts]'],
      [[['a', 100], ['b', 105]], [['a', 100], ['a', 101], ['c', 94], ['d', 95], ['e', 96]], [['f', 200]], [['a', 195], ['b', 196], ['a', 200], ['f', 200]]],
      [[['a', 100], ['b', 105]], [['a', 101], ['e', 96]], [['f', 200]], [['a', 195], ['b', 196], ['a', 200]]],
      [['c', 94], ['d', 95]]],
    // x is forgotten when the watermark reaches exactly 300 + 10 s (Spark removed its
    // state in the no-data batch at watermark 310 s), so x at 315 s is kept; remembered
    // anew from 315 s, x at 316 s is dropped
    ['a key is forgotten when the watermark reaches its time + the delay', [],
      [[['x', 300], ['y', 320]], [['x', 315]], [['z', 321]], [['x', 316]]],
      [[['x', 300], ['y', 320]], [['x', 315]], [['z', 321]], []],
      []],
    // a at 150 s, 50 s after a at 100 s, is still a repeat: the watermark (90 s) has not
    // reached 110 s; a dropped repeat does not extend the horizon, so a at 151 s is kept
    ['the horizon is the watermark, not the gap between event times', [],
      [[['a', 100], ['b', 100]], [['a', 150]], [['a', 151]], [['a', 152]]],
      [[['a', 100], ['b', 100]], [], [['a', 151]], []],
      []],
    // a repeat moves the watermark (a at 200 s, dropped, made it 190 s): z at 190 s is late
    ['every record moves the watermark, repeats too', [],
      [[['a', 100]], [['a', 200]], [['z', 190], ['y', 191]]],
      [[['a', 100]], [], [['y', 191]]],
      [['z', 190]]],
    // b at 200 s does not move the watermark for its own batch: c at 91 s is kept, d at
    // 90 s (the watermark the batch before set) is late
    ['a batch is judged by the watermark of the batches before it', [],
      [[['a', 100]], [['b', 200], ['c', 91], ['d', 90]], [['e', 191], ['f', 190]]],
      [[['a', 100]], [['b', 200], ['c', 91]], [['e', 191]]],
      [['d', 90], ['f', 190]]],
    // within a batch the first record in order is kept and sets the horizon (120 + 10 s),
    // not the earliest event time: a at 121 s (watermark 115 s) and 122 s (121 s) are repeats
    ['the first record of a key in order sets its horizon', [],
      [[['a', 120], ['a', 100], ['b', 100]], [['c', 125]], [['a', 121]], [['d', 131]], [['a', 122]]],
      [[['a', 120], ['b', 100]], [['c', 125]], [], [['d', 131]], []],
      []],
    // withWatermark("ts", "0 seconds"): a key is forgotten as soon as a later time is seen
    ['a watermark of 0', ['--watermark', '0'],
      [[['a', 100], ['a', 100]], [['a', 100], ['a', 101]], [['a', 101], ['a', 102]]],
      [[['a', 100]], [['a', 101]], [['a', 102]]],
      [['a', 100], ['a', 101]]]
  ]
  for (const [name, args, input, expected, late] of cases) {
    const dead = `${t.testdir()}/dead`
    const words = args.some(a => !a.startsWith('-')) ? args : ['_.guid', ...args]
    const watermark = args.includes('--watermark') ? [] : ['--watermark', '10s']
    const ran = await run(['drop-duplicates', ...words, '--event-time', '_.ts', ...watermark, '--dead-letter', dead], input.map(b => b.map(rec)))
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected.map(b => b.map(rec)), name)
    t.same(deadLetters(dead).map(d => d.record), late.map(rec), `${name}: the late records are set aside`)
    if (late.length > 0) t.match(ran.stderr, `${late.length} input${late.length === 1 ? '' : 's'} set aside in ${dead}`, `${name}: and counted`)
  }
  const zero = await run(['drop-duplicates', '_.guid', '--event-time', '_.ts'], [[{ guid: 'a', ts: 100 }, { guid: 'a', ts: 100 }], [{ guid: 'a', ts: 101 }]])
  t.same(zero.records, [[{ guid: 'a', ts: 100 }], [{ guid: 'a', ts: 101 }]], '--watermark defaults to 0')
})

// Spark 3.5.9 on 14 micro-batches drawn at random (Python's random.Random(16): keys a..e,
// 80% a little out of order, some up to 30 s, repeats of earlier records): records
// [n, guid, t seconds], 10 s watermark. dropDuplicatesWithinWatermark("guid") and
// dropDuplicates("guid", "ts") (which gave the same rows as
// dropDuplicatesWithinWatermark("guid", "ts")); 12 records dropped by the watermark in each.
t.test('by event time: a random stream run in Spark', async t => {
  const input = [[[1, 'b', 997], [2, 'b', 1002], [3, 'c', 1003]], [[4, 'c', 980], [5, 'a', 1004], [6, 'a', 979], [7, 'b', 1008], [8, 'a', 1008], [9, 'b', 1008]], [[13, 'a', 1008], [10, 'a', 1019], [11, 'b', 1017], [12, 'd', 1019]], [[14, 'a', 1022], [15, 'd', 1021], [16, 'd', 1016], [17, 'd', 1034], [18, 'a', 1008]], [[25, 'a', 1022], [19, 'a', 1033], [20, 'd', 1038], [21, 'a', 1026], [22, 'b', 1037], [23, 'e', 1039], [24, 'b', 1031]], [[30, 'a', 1008], [26, 'd', 1023], [27, 'b', 1048], [28, 'd', 1043], [29, 'd', 1039]], [[35, 'b', 1048], [31, 'b', 1048], [32, 'd', 1034], [33, 'c', 1057], [34, 'b', 1040]], [[36, 'a', 1063], [37, 'e', 1063], [38, 'e', 1062], [39, 'a', 1069]], [[40, 'a', 1063], [43, 'd', 1039], [41, 'a', 1072], [42, 'a', 1070]], [[44, 'c', 1073], [45, 'a', 1076], [50, 'b', 1048], [46, 'd', 1072], [47, 'b', 1073], [48, 'c', 1074], [49, 'b', 1078]], [[51, 'a', 1087], [52, 'c', 1085]], [[53, 'e', 1088], [54, 'c', 1087], [55, 'b', 1090], [59, 'a', 1008], [56, 'e', 1091], [57, 'b', 1090], [58, 'a', 1090]], [[63, 'a', 1087], [60, 'c', 1092], [61, 'c', 1098], [62, 'd', 1084]], [[64, 'c', 1092], [69, 'c', 1003], [65, 'c', 1094], [66, 'b', 1094], [67, 'd', 1102], [68, 'd', 1073]]]
  const byGuid = [[1, 3], [5], [12], [], [19, 22, 23], [28], [33], [36], [], [46, 47], [52], [53, 58], [], [66, 67]]
  const byGuidAndTime = [[1, 2, 3], [5, 7, 8], [10, 11, 12], [14, 15, 16, 17], [19, 20, 21, 22, 23, 24], [27, 28, 29], [33, 34], [36, 37, 38, 39], [41, 42], [44, 45, 46, 47, 48, 49], [51, 52], [53, 54, 55, 56, 58], [60, 61, 62], [65, 66, 67]]
  for (const [key, expected] of [['_[1]', byGuid], ['r => [r[1], r[2]]', byGuidAndTime]] as const) {
    const dead = `${t.testdir()}/dead`
    const ran = await run(['drop-duplicates', key, '--event-time', '_[2] * 1000', '--watermark', '10s', '--dead-letter', dead], input)
    t.equal(ran.code, 0, ran.stderr)
    t.same(ran.records.map(b => (b as number[][]).map(r => r[0]).sort((x, y) => x - y)), expected, `key ${key}: Spark's rows`)
    t.equal(deadLetters(dead).length, 12, `key ${key}: Spark's 12 late records`)
  }
})

t.test('edge cases', async t => {
  const input = [['a', 'b', 'a', 'c', 'b', 'd'], [], ['d', 'e', 'e']]
  const whole = await run(['drop-duplicates'], input)
  const chunked = await run(['drop-duplicates'], input, { chunk: 2 })
  t.same(whole.records, [['a', 'b', 'c', 'd'], [], ['e']], 'repeats inside a batch are dropped too; an empty batch stays')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
  const none = await run(['drop-duplicates'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')

  const timed = [[{ k: [1, 'x'], at: '2024-05-01T00:00:10Z' }, { k: [1, 'x'], at: '2024-05-01T00:00:11Z' }, { k: { a: 1 }, at: '2024-05-01T00:00:12Z' }], [], [],
    [{ k: [1, 'x'], at: '2024-05-01T00:00:13Z' }, { k: { a: 1 }, at: '2024-05-01T00:00:09Z' }], [{ k: [1, 'x'], at: '2024-05-01T00:00:30Z' }], [{ k: [1, 'x'], at: '2024-05-01T00:00:31Z' }]]
  const words = ['drop-duplicates', '_.k', '--event-time', '_.at', '--watermark', '2s']
  const byTime = await run(words, timed)
  // watermark 10 s after the first batch, and the empty ones; 11 s after the fourth: [1, "x"]
  // (kept at 10 s, remembered until the watermark reaches 12 s) is still a repeat at 30 s
  t.same(byTime.records, [[timed[0][0], timed[0][2]], [], [], [], [], [timed[5][0]]],
    'date strings as event times, array and object keys; empty batches keep the watermark where it is; the late record (09 s, watermark 10 s) is set aside')
  t.same(deadLetters(`${STATE}/${runs}/dead-letter.ndjson`).map(d => d.record), [timed[3][1]], 'the late record is in the dead-letter file')
  t.same((await run(words, timed, { chunk: 1 })).records, byTime.records, 'by event time, chunked input gives the same output')
})

t.test('fused with then, and piped', async t => {
  const input = [[{ guid: 'a', ts: 100000 }, { guid: 'b', ts: 105000 }], [{ guid: 'a', ts: 101000 }, { guid: 'c', ts: 94000 }, { guid: 'd', ts: 96000 }], [{ guid: 'e', ts: 200000 }], [{ guid: 'a', ts: 195000 }]]
  const alone = await run(['drop-duplicates', '_.guid', '--event-time', '_.ts', '--watermark', '10s'], input)
  const fused = await run(['map', '_', 'then', 'drop-duplicates', '_.guid', '--event-time', '_.ts', '--watermark', '10s', 'then', 'map', '_.guid'], input)
  t.equal(fused.code, 0, fused.stderr)
  t.same(fused.records, alone.records.map(b => (b as Array<{ guid: string }>).map(r => r.guid)), 'the same records, fused in one process')
  t.same(fused.records, [['a', 'b'], ['d'], ['e'], ['a']])
})

t.test('restart from the state directory', async t => {
  const dir = t.testdir()
  const input = [['a', 'b'], ['a', 'c'], ['b', 'd'], [], ['a', 'c']]
  const words = ['drop-duplicates', '--within', '3s']
  const whole = await runTable([...words, '--state-dir', `${dir}/whole`], input)
  const first = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(0, 3))
  const rest = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(3), { start: 4000 })
  t.equal(rest.code, 0, rest.stderr)
  t.same([...first.records, ...rest.records], whole.records, 'a run split in two gives the output of one run')
  t.same(whole.records, [['a', 'b'], ['c'], ['d'], [], ['a', 'c']])
  const [name] = fs.readdirSync(`${dir}/split`).filter(f => f.startsWith('drop-duplicates'))
  t.same(JSON.parse(fs.readFileSync(`${dir}/split/${name}/checkpoint-5000.json`, 'utf8')).state, [['d', 3000], ['a', 5000], ['c', 5000]],
    'the checkpoint holds the keys still remembered, with the time of the batch that kept them (the format it always had)')
})

t.test('restart by event time', async t => {
  const dir = t.testdir()
  const r = (guid: string, s: number) => ({ guid, ts: s * 1000 })
  const input = [[r('a', 100), r('b', 105)], [r('a', 101), r('c', 94), r('d', 96)], [], [r('e', 200)], [r('a', 195), r('b', 150)], [r('e', 201), r('f', 202)]]
  const words = ['drop-duplicates', '_.guid', '--event-time', '_.ts', '--watermark', '10s']
  const whole = await runTable([...words, '--state-dir', `${dir}/whole`], input)
  for (const cut of [1, 2, 4]) {
    const state = `${dir}/split-${cut}`
    const first = await runTable([...words, '--state-dir', state], input.slice(0, cut))
    const rest = await runTable([...words, '--state-dir', state], input.slice(cut), { start: (cut + 1) * 1000 })
    t.equal(rest.code, 0, rest.stderr)
    t.same([...first.records, ...rest.records], whole.records, `cut after batch ${cut}: the output of one run (the watermark and the keys restored)`)
    t.same(deadLetters(`${state}/dead-letter.ndjson`), deadLetters(`${dir}/whole/dead-letter.ndjson`), `cut after batch ${cut}: the same records set aside`)
  }
  t.same(whole.records, [[r('a', 100), r('b', 105)], [r('d', 96)], [], [r('e', 200)], [r('a', 195)], [r('f', 202)]])
  t.same(deadLetters(`${dir}/whole/dead-letter.ndjson`).map(d => [d.time, d.record]), [[2000, r('c', 94)], [5000, r('b', 150)]], 'late records are set aside with their batch time')
  const [name] = fs.readdirSync(`${dir}/whole`).filter(f => f.startsWith('drop-duplicates'))
  // after the last batch the watermark is 192 s: b (105 s) and d (96 s) are forgotten
  t.same(JSON.parse(fs.readFileSync(`${dir}/whole/${name}/checkpoint-6000.json`, 'utf8')).state,
    { watermark: { maxSeen: 202000, current: 192000 }, seen: [['e', 200000], ['a', 195000], ['f', 202000]] },
    'the checkpoint holds the watermark and the keys still remembered, with the event time that kept them')
})

t.test('restore: the checkpoint formats', async t => {
  const dir = t.testdir()
  const ctx = new OperatorContext({ name: 'drop-duplicates', onError: 'fail', onBadInput: 'fail', deadLetter: new DeadLetter(`${dir}/dead`), stateDir: dir, scope: {}, stdout: () => {}, stderr: () => {}, colour: { stdout: false, stderr: false }, stderrIsTerminal: false })
  const common = { stateDir: dir, onError: 'fail' as const, onBadInput: 'fail' as const, require: [] }
  const byEventTime = await dropDuplicates.init({ ...common, fn: '_.guid', eventTime: '_.ts', watermark: '10s' }, ctx)
  t.throws(() => byEventTime.restore!([['a', 1000]]), /the state is not \{watermark, seen\} \(a checkpoint by event time\), but \[\["a",1000\]\]/, 'a list of [key, time] is refused by event time, with a clear message')
  t.throws(() => byEventTime.restore!({ watermark: { maxSeen: 'x', current: null }, seen: [] }), /the watermark is not \{maxSeen, current\}/)
  byEventTime.restore!({ watermark: { maxSeen: 200000, current: 190000 }, seen: [['a', 185000]] })
  t.same(byEventTime.onBatch([{ guid: 'a', ts: 191000 }, { guid: 'b', ts: 190000 }, { guid: 'c', ts: 191000 }], { time: 1000, interval: 1000, more: false }), [{ guid: 'c', ts: 191000 }], 'restored: a still remembered, 190 s late')
  const byBatchTime = await dropDuplicates.init({ ...common, within: '3s' }, ctx)
  byBatchTime.restore!([['a', 1000], [['k', 1], 2000]])
  t.same(byBatchTime.onBatch(['a', ['k', 1], 'b'], { time: 4000, interval: 1000, more: false }), ['a', 'b'], 'the list of [key, batch time] is still read without --event-time: a is forgotten (3 s), [k, 1] remembered')
})

t.test('bad input', async t => {
  const threw = await run(['drop-duplicates', '_.id.toString()'], [[{ id: 1 }], [{ id: 2 }, { no: 3 }]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream drop-duplicates: batch 2000: function threw TypeError: .*\n\s+on record \{"no":3\}/, 'names the batch and the record')
  t.same(threw.records, [[{ id: 1 }]])
  const dead = `${t.testdir()}/dead`
  const skipped = await run(['drop-duplicates', '_.id.toString()', '--on-error', 'skip', '--dead-letter', dead], [[{ id: 1 }, { no: 3 }, { id: 1 }]])
  t.same([skipped.code, skipped.records], [0, [[{ id: 1 }]]], '--on-error skip: the record is set aside')
  t.same(JSON.parse(fs.readFileSync(dead, 'utf8')).record, { no: 3 })

  const byTime = ['drop-duplicates', '_.id', '--event-time', '_.ts', '--watermark', '1s']
  const notTime = await run(byTime, [[{ id: 1, ts: 5 }], [{ id: 2, ts: 'soon' }]])
  t.equal(notTime.code, 65, 'an event time that is not a time: exit 65')
  t.match(notTime.stderr, /^dstream drop-duplicates: batch 2000: --event-time gave "soon", not a time .*: \{"id":2,"ts":"soon"\}/, 'names the batch and the record')
  const dead2 = `${t.testdir()}/dead`
  const skippedTime = await run([...byTime, '--on-bad-input', 'skip', '--dead-letter', dead2], [[{ id: 1, ts: 5 }, { id: 2 }, { id: 3, ts: 6 }]])
  t.same([skippedTime.code, skippedTime.records], [0, [[{ id: 1, ts: 5 }, { id: 3, ts: 6 }]]], '--on-bad-input skip: set aside')
  t.same(deadLetters(dead2).map(d => d.record), [{ id: 2 }])
  const threwTime = await run(['drop-duplicates', '_.id', '--event-time', '_.t.getTime()'], [[{ id: 1 }]])
  t.equal(threwTime.code, 65, 'the --event-time function throws: exit 65')
  t.match(threwTime.stderr, /^dstream drop-duplicates: batch 1000: function threw TypeError/)
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['drop-duplicates', '_.'], /key function does not compile/],
    [['drop-duplicates', '--within', '0'], /^dstream drop-duplicates: bad --within '0'/],
    [['drop-duplicates', '_', 'extra'], /unexpected argument 'extra'/],
    [['drop-duplicates', '_.guid', '--watermark', '10s'], /^dstream drop-duplicates: --watermark needs --event-time/],
    [['drop-duplicates', '_.guid', '--event-time', '_.ts', '--within', '10s'], /^dstream drop-duplicates: --within .* and --event-time .* exclude each other/],
    [['drop-duplicates', '_.guid', '--event-time', '_.ts', '--watermark', 'soon'], /^dstream drop-duplicates: bad --watermark 'soon'/],
    [['drop-duplicates', '_.guid', '--event-time', '_.'], /--event-time does not compile/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords([...words, '--state-dir', `${STATE}/usage`], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})

t.test('help', async t => {
  const help = await sh('dstream drop-duplicates --help')
  t.equal(help.code, 0, help.stderr)
  t.match(help.stdout, /--event-time FN/)
  t.match(help.stdout, /--watermark DUR/)
  t.match(help.stdout, /dropDuplicatesWithinWatermark/)
})
