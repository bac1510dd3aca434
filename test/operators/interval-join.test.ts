// interval-join: the cases were run through Spark Structured Streaming 3.5.9 (two
// file-source streams, withWatermark on each, join on key and time range, one
// micro-batch per dstream batch, foreachBatch collecting, shuffle partitions 1).
// Spark's output of the "no-data batch" it runs after a batch that moved the
// watermark is merged into that batch here, as the operator's description says.
import fs from 'node:fs'
import t from 'tap'
import { batchLines, freshDir, runTable, runWords, type TableOptions } from '../helpers.js'

/** Values are 'name@seconds'; their event time is the seconds, in ms. */
const AT = ['--event-time', "v => v.split('@')[1] * 1000"]
const UPPER_10S = ['--upper', '10s']

/** A file of batches, for --with. */
function stream (dir: string, name: string, batches: unknown[][], options?: TableOptions): string {
  fs.writeFileSync(`${dir}/${name}`, batchLines(batches, options))
  return `${dir}/${name}`
}

/** [key, 'name@seconds'] pairs from 'key name@seconds' words. */
const rows = (...batches: string[]) => batches.map(b => b === '' ? [] : b.split(', ').map(w => w.split(' ')))

t.test('cases, as Spark 3.5 gives them', async t => {
  const dir = t.testdir()
  const cases: Array<[string, string[], unknown[][], unknown[][], unknown[][]]> = [
    // a left outer join with 5 s watermarks: a matched row leaves without null; an
    // unmatched one gets its null once the global watermark (the min of the two sides'
    // watermarks) passes its time + upper: at batch 3 min(115, 120) = 115 > 112; at batch
    // 4 the right side's own watermark is 135 > 130, but the min stays 115 and holds c
    ['left outer: nulls when the min of the watermarks passes the bound', ['--watermark', '5s', '--with-watermark', '5s', '--type', 'left-outer'],
      rows('a i1@100, b i2@102', '', 'c i3@120', '', 'd i4@150'),
      rows('a c1@105', 'a c2@110, b c3@113', 'x c4@125', 'x c5@140', ''),
      [[['a', ['i1@100', 'c1@105']]], [['a', ['i1@100', 'c2@110']]], [['b', ['i2@102', null]]], [], [['c', ['i3@120', null]]]]],
    // both bounds inclusive (ca@110 = ia@100 + 10 s matches); an input row whose time +
    // upper equals the watermark (b 100 + 10 = 110 at batch 2) is kept until the watermark
    // passes it (111 at batch 4): Spark evicts only below; cb@110 at watermark 110 is late
    ['left outer: the bound is inclusive, a row leaves once the watermark is past it', ['--type', 'left-outer'],
      rows('a ia@100, b ib@100', 'x ix@110', '', 'y iy@111', 'w iw@125'),
      rows('a ca@110, z cz@100', '', 'b cb@110', 'y cy@111', 'w cw@125'),
      [[['a', ['ia@100', 'ca@110']]], [], [], [['y', ['iy@111', 'cy@111']], ['b', ['ib@100', null]]], [['w', ['iw@125', 'cw@125']], ['x', ['ix@110', null]]]]],
    // rows at or before the watermark in force (100 after batch 1) are dropped on input
    // on either side, even when they would match (Spark: numRowsDroppedByWatermark 2, 1)
    ['inner: late rows are dropped on input', [],
      rows('a ia@100', 'b ib@100', 'a ia99@99'),
      rows('q cq@100', 'a ca100@100, a ca105@105, b cb@101', 'a ca106@106'),
      [[], [['a', ['ia@100', 'ca105@105']]], [['a', ['ia@100', 'ca106@106']]]]],
    // late means late for the global watermark min(200, 150 - 20) = 130, not the side's
    // own (200): ib140@140 is kept and joins, ic120@120 is dropped
    ['late is judged by the min of the watermarks', ['--with-watermark', '20s', '--type', 'left-outer'],
      rows('a ia@200', 'b ib140@140, c ic120@120, c ic131@131', '', ''),
      rows('z cz@150', 'b cb@145, c cc@131', 'z cz2@175', 'z cz3@190'),
      [[], [['b', ['ib140@140', 'cb@145']], ['c', ['ic131@131', 'cc@131']]], [], []]],
    // a negative lower bound: clicks from 5 s before to 5 s after, both ends included;
    // a right row leaves once its time - lower is below the watermark (94 + 5 < 100)
    ['right outer with a negative lower bound', ['--lower=-5s', '--upper', '5s', '--type', 'right-outer'],
      rows('a ia@100', 'z iz@130', 'u iu@140'),
      rows('a c95@95, a c94@94, a c105@105, a c106@106', 'z cz@130', 'u cu@140'),
      [[['a', ['ia@100', 'c95@95']], ['a', ['ia@100', 'c105@105']], ['a', [null, 'c94@94']]], [['z', ['iz@130', 'cz@130']], ['a', [null, 'c106@106']]], [['u', ['iu@140', 'cu@140']]]]],
    // the right side's rows leave at time - lower < watermark too, not at equality
    // (c 100 - 0 = watermark 100 at batch 2: kept; 101 at batch 3: its null)
    ['right outer: a right row leaves once the watermark is past it', ['--type', 'right-outer'],
      rows('q iq@90', 'p ip@100', 'p ip2@101'),
      rows('c cc@100, z cz@200', '', ''),
      [[], [], [['c', [null, 'cc@100']]]]],
    ['the same with a negative lower bound (100 + 5 = 105 kept, 106 evicts)', ['--lower=-5s', '--type', 'right-outer'],
      rows('q iq@90', 'p ip@105', 'p ip2@106'),
      rows('c cc@100, z cz@200', '', ''),
      [[], [], [['c', [null, 'cc@100']]]]],
    // the right side's watermark (200) is far ahead; the left row waits for the min
    ['a left row waits for the slower side', ['--type', 'left-outer'],
      rows('a ia@100', 'y iy@105', 'y iy2@111'),
      rows('z cz@200', '', ''),
      [[], [], [['a', ['ia@100', null]]]]],
    // a side that never has a record holds the global watermark (Spark: 0): no nulls ever
    ['a side with no records: nothing is let go', ['--type', 'left-outer'],
      rows('a ia@100', 'b ib@200', 'c ic@300'), [[], [], []], [[], [], []]],
    ['full outer: nulls on both sides', ['--type', 'full-outer'],
      rows('a ia@100, b ib@100', 'z iz@130'),
      rows('a ca@105, c cc@100', 'z cz@130'),
      [[['a', ['ia@100', 'ca@105']]], [['z', ['iz@130', 'cz@130']], ['b', ['ib@100', null]], ['c', [null, 'cc@100']]]]]
  ]
  for (const [i, [name, args, left, right, expected]] of cases.entries()) {
    const bounds = args.some(a => a.startsWith('--upper')) ? [] : UPPER_10S
    const ran = await runTable(['interval-join', '--with', stream(dir, `right${i}`, right), ...AT, ...bounds, ...args], left)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('the order of the output, as Spark gives it with one partition', async t => {
  // each new left row with the right rows kept (v4 with w2, w3), then each new right row
  // with the left rows kept, this batch's included (w4 with v1, v2, v4)
  const right = stream(t.testdir(), 'right', rows('b w1@102, a w2@103, a w3@104', 'a w4@108'))
  const ran = await runTable(['interval-join', '--with', right, ...AT, ...UPPER_10S], rows('a v1@100, a v2@101, b v3@100', 'a v4@102'))
  t.equal(ran.code, 0, ran.stderr)
  t.strictSame(ran.records, [
    [['b', ['v3@100', 'w1@102']], ['a', ['v1@100', 'w2@103']], ['a', ['v2@101', 'w2@103']], ['a', ['v1@100', 'w3@104']], ['a', ['v2@101', 'w3@104']]],
    [['a', ['v4@102', 'w2@103']], ['a', ['v4@102', 'w3@104']], ['a', ['v1@100', 'w4@108']], ['a', ['v2@101', 'w4@108']], ['a', ['v4@102', 'w4@108']]]
  ])
})

t.test('edge cases', async t => {
  const dir = t.testdir()
  const left = rows('a ia@100, b ib@100, a ja@101', '', 'c ic@120, a ka@121', 'x ix@140')
  const right = rows('a ca@105, z cz@100, b cb@111', 'a da@109', 'c cc@125', 'x cx@140')
  const words = ['interval-join', ...AT, ...UPPER_10S, '--type', 'full-outer']
  const whole = await runTable([...words, '--with', stream(dir, 'right', right)], left)
  t.equal(whole.code, 0, whole.stderr)
  t.same(whole.records, [
    [['a', ['ia@100', 'ca@105']], ['a', ['ja@101', 'ca@105']], ['z', [null, 'cz@100']]],
    [['a', ['ia@100', 'da@109']], ['a', ['ja@101', 'da@109']]],
    [['c', ['ic@120', 'cc@125']], ['b', ['ib@100', null]], ['b', [null, 'cb@111']]],
    [['x', ['ix@140', 'cx@140']], ['a', ['ka@121', null]]]
  ], 'every match, and the nulls in the order the records came')
  const chunked = await runTable([...words, '--with', stream(dir, 'chunked', right, { chunk: 1 })], left, { chunk: 1 })
  t.same(chunked.records, whole.records, 'batches in chunks on either side give the same output')
  t.same(chunked.batches.map(b => b.time), [1000, 2000, 3000, 4000], 'a batch out for every batch time, empty ones too')

  const keys = await runTable(['interval-join', '--with', stream(dir, 'keys', [[[['x', 1], 'r@1'], [{ b: 2, a: 1 }, 'o@1'], ['1', 's@1']]]), ...AT, ...UPPER_10S],
    [[[['x', 1], 'l@1'], [{ a: 1, b: 2 }, 'm@1'], [1, 'n@1']]])
  t.same(keys.records, [[[['x', 1], ['l@1', 'r@1']], [{ a: 1, b: 2 }, ['m@1', 'o@1']]]], 'array and object keys compare by value')

  const late = await runTable(['interval-join', '--with', stream(dir, 'late', rows('a r3@3', 'a r4@4'), { start: 3000 }), ...AT, ...UPPER_10S],
    rows('a l1@1', 'a l2@2', 'a l3@3'))
  t.same(late.batches.map(b => [b.time, b.records]), [[1000, []], [2000, []], [3000, [['a', ['l1@1', 'r3@3']], ['a', ['l2@2', 'r3@3']], ['a', ['l3@3', 'r3@3']]]], [4000, [['a', ['l1@1', 'r4@4']], ['a', ['l2@2', 'r4@4']], ['a', ['l3@3', 'r4@4']]]]],
    'a --with stream that starts later pairs by batch time; rows kept from earlier batches join it')

  const times = await runTable(['interval-join', '--with', stream(dir, 'dates', [[['k', { at: 1700000005 }]]]), '--event-time', '_.time', '--with-event-time', 'w => w.at * 1000', '--lower=-5s', '--upper', '0'],
    [[['k', { time: '2023-11-14T22:13:20Z' }], ['k', { time: '2023-11-14T22:13:30Z' }]]])
  t.same(times.records, [[['k', [{ time: '2023-11-14T22:13:30Z' }, { at: 1700000005 }]]]], '--with-event-time for the --with side; a date string is a time')

  const none = await runTable(['interval-join', '--with', stream(dir, 'empty', []), ...AT, ...UPPER_10S], [])
  t.same([none.code, none.stdout], [0, ''], 'no input anywhere: no output, exit 0')

  const intervals = await runTable(['interval-join', '--with', stream(dir, 'two', [[['a', 'x@1']]], { interval: 2000 }), ...AT, ...UPPER_10S], rows('a y@1', 'a z@2'))
  t.equal(intervals.code, 65, 'streams of different intervals: exit 65')
  t.match(intervals.stderr, /^dstream interval-join: batch 1000: streams of different intervals cannot be paired/)
})

t.test('late records go to the dead-letter file, counted', async t => {
  const dir = t.testdir()
  const ran = await runTable(['interval-join', '--with', stream(dir, 'right', rows('q cq@100', 'a ca100@100, a ca105@105')), ...AT, ...UPPER_10S, '--dead-letter', `${dir}/dead`],
    rows('a ia@100', 'b ib@99'))
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.records, [[], [['a', ['ia@100', 'ca105@105']]]])
  const dead = fs.readFileSync(`${dir}/dead`, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(dead.map(d => [d.time, d.record]), [[2000, ['b', 'ib@99']], [2000, ['a', 'ca100@100']]], 'with the batch time, whatever --on-bad-input says')
  t.match(dead[0].reason, /^later than the watermark: event time 1970-01-01T00:01:39.000Z from the input is not after the watermark 1970-01-01T00:01:40.000Z/)
  t.match(dead[1].reason, /from the --with stream/)
  t.match(ran.stderr, /dstream interval-join: 2 inputs set aside in .*dead\n/, 'and counted on stderr')
})

t.test('piped and fused give the same output', async t => {
  const dir = t.testdir()
  const right = stream(dir, 'right', rows('a ca@105', 'b cb@130', 'z cz@150'))
  const input = batchLines([['a ia@100', 'b ib@101'], ['c ic@130'], []])
  const pair = "l => [l.split(' ')[0], l.split(' ')[1]]"
  const join = ['interval-join', '--with', right, ...AT, ...UPPER_10S, '--type', 'left-outer']
  const mapped = await runWords(['map', pair], input)
  const piped = await runWords(join, mapped.stdout)
  const fused = await runWords(['map', pair, 'then', ...join], input)
  t.equal(fused.code, 0, fused.stderr)
  t.equal(fused.stdout, piped.stdout, 'dstream map ... then interval-join ... equals the pipe')
  t.match(fused.stdout, /\["b",\["ib@101",null\]\]/)
})

t.test('restart from the state directory', async t => {
  const dir = t.testdir()
  const left = rows('a ia@100, b ib@100', 'c ic@104', '', 'd id@112', 'e ie@130')
  const right = rows('z cz@101', 'a ca@106', 'c cc@113, b cb@120', 'd dd@113', 'e ce@131')
  const words = ['interval-join', ...AT, ...UPPER_10S, '--watermark', '2s', '--type', 'full-outer']
  const whole = await runTable([...words, '--with', stream(dir, 'right', right), '--state-dir', `${dir}/whole`], left)
  const first = await runTable([...words, '--with', stream(dir, 'half', right.slice(0, 3)), '--state-dir', `${dir}/split`], left.slice(0, 3))
  const [name] = fs.readdirSync(`${dir}/split`).filter(f => f.startsWith('interval-join'))
  const saved = JSON.parse(fs.readFileSync(`${dir}/split/${name}/checkpoint-3000.json`, 'utf8')).state
  // the same command line again (the --with path is part of what the state is kept under)
  const rest = await runTable([...words, '--with', stream(dir, 'half', right.slice(3), { start: 4000 }), '--state-dir', `${dir}/split`], left.slice(3), { start: 4000 })
  t.equal(rest.code, 0, rest.stderr)
  t.same([...first.records, ...rest.records], whole.records, 'a run split in two gives the output of one run')
  t.same(whole.records, [
    [],
    [['a', ['ia@100', 'ca@106']], ['z', [null, 'cz@101']]],
    [['c', ['ic@104', 'cc@113']]],
    [['d', ['id@112', 'dd@113']]],
    [['e', ['ie@130', 'ce@131']], ['b', ['ib@100', null]], ['b', [null, 'cb@120']]]
  ])
  // after batch 3: input watermark 104 - 2 = 102, --with 120: the min is 102; cz went at
  // batch 2 (101 < 102, with its null), ib and cb wait unmatched across the restart
  t.same(saved, {
    watermarks: { input: { maxSeen: 104000, current: 102000 }, with: { maxSeen: 120000, current: 120000 } },
    input: [['a', 'ia@100', 100000, true], ['b', 'ib@100', 100000, false], ['c', 'ic@104', 104000, true]],
    with: [['a', 'ca@106', 106000, true], ['c', 'cc@113', 113000, true], ['b', 'cb@120', 120000, false]]
  }, 'the checkpoint holds both watermarks and the rows still kept, with their times and whether they matched')
})

t.test('bad input', async t => {
  const dir = t.testdir()
  const right = stream(dir, 'right', [[['a', 'x@1'], 'oops']])
  const fromWith = await runTable(['interval-join', '--with', right, ...AT, ...UPPER_10S], [[['a', 'y@1']]])
  t.equal(fromWith.code, 65, 'a --with record that is not a pair: exit 65')
  t.match(fromWith.stderr, /^dstream interval-join: batch 1000: expected a \[key, value\] pair from the --with stream: "oops"\n/, 'names operator, batch and record')

  const good = stream(dir, 'good', [[['a', 'x@1']], [['a', 'x@2']]])
  const input = await runTable(['interval-join', '--with', good, ...AT, ...UPPER_10S], [[['a', 'y@1'], 7]])
  t.equal(input.code, 65)
  t.match(input.stderr, /^dstream interval-join: batch 1000: expected a \[key, value\] pair from the input: 7\n/, 'an input record that is not a pair')

  const noTime = await runTable(['interval-join', '--with', good, ...AT, ...UPPER_10S], [[['a', 'y@1']], [['a', 'y']]])
  t.equal(noTime.code, 65, 'FN gives no time: exit 65')
  t.match(noTime.stderr, /^dstream interval-join: batch 2000: --event-time gave \S+, not a time .*: "y"\n/)

  const threw = await runTable(['interval-join', '--with', good, '--event-time', '_.t.getTime()', ...UPPER_10S], [[['a', {}]]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream interval-join: batch 1000: function threw TypeError/)

  const skipped = await runTable(['interval-join', '--with', good, ...AT, ...UPPER_10S, '--on-bad-input', 'skip', '--dead-letter', `${dir}/dead`],
    [[['a', 'y@1'], 7, ['a', 'nope']], [['a', 'y@2']]])
  t.same([skipped.code, skipped.records], [0, [[['a', ['y@1', 'x@1']]], [['a', ['y@1', 'x@2']], ['a', ['y@2', 'x@2']]]]], '--on-bad-input skip: the rest flows')
  t.same(fs.readFileSync(`${dir}/dead`, 'utf8').trim().split('\n').map(l => JSON.parse(l).record), [7, 'nope'], 'the bad records are set aside')
})

t.test('usage errors', async t => {
  const w = ['--with', 'package.json']
  const cases: Array<[string[], RegExp]> = [
    [['interval-join', ...AT, ...UPPER_10S], /^dstream interval-join: needs --with STREAM\nUsage: dstream interval-join/],
    [['interval-join', ...w, ...UPPER_10S], /needs --event-time FN/],
    [['interval-join', ...w, ...AT], /needs --upper DUR/],
    [['interval-join', ...w, ...AT, '--upper', 'soon'], /bad --upper 'soon'/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--lower=-5x'], /bad --lower '-5x'/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--lower', '11s'], /--lower 11s is after --upper 10s/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--type', 'outer'], /Invalid values: Argument: type, Given: "outer", Choices: "inner", "left-outer", "right-outer", "full-outer"/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--watermark', 'later'], /bad --watermark 'later'/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--with-watermark', 'x'], /bad --with-watermark 'x'/],
    [['interval-join', ...w, ...AT, ...UPPER_10S, '--max-wait', 'soon'], /bad --max-wait 'soon'/],
    [['interval-join', ...w, '--event-time', '_.', ...UPPER_10S], /--event-time does not compile/],
    [['interval-join', '--with', 'a', '--with', 'b', ...AT, ...UPPER_10S], /--with given more than once/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords([...words, '--state-dir', freshDir()], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})
