import t from 'tap'
import { runTable } from '../helpers.js'

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['pairs with 1', ['map', '[_, 1]'], [['a', 'b'], ['c']], [[['a', 1], ['b', 1]], [['c', 1]]]],
    ['a function expression', ['map', 'w => w.length'], [['abc', '']], [[3, 0]]],
    ['a function keyword', ['map', 'function (r) { return r.ip }'], [[{ ip: '1.2.3.4' }]], [['1.2.3.4']]],
    ['objects and arrays', ['map', '({ n: _[0] })'], [[[1, 2], [3]]], [[{ n: 1 }, { n: 3 }]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['map', '_ + 1'], [[], [1], []])
  t.same(empty.records, [[], [2], []], 'empty batches stay, as batches')
  const whole = await runTable(['map', '_ * 2'], [[1, 2, 3, 4, 5]])
  const chunked = await runTable(['map', '_ * 2'], [[1, 2, 3, 4, 5]], { chunk: 2 })
  t.same(chunked.records, whole.records, 'a chunked batch gives the same records')
  t.equal(chunked.chunks.length, 3, 'map is chunk-wise: one chunk out for each in')
  t.ok(chunked.chunks[0].more && !chunked.chunks[2].more, 'more is kept')
  const times = await runTable(['map', '_'], [['x'], ['y']], { interval: 5000 })
  t.same(times.batches.map(b => [b.time, b.interval]), [[5000, 5000], [10000, 5000]], 'time and interval pass through')
  const none = await runTable(['map', '_'], [])
  t.same(none, { ...none, code: 0, stdout: '' }, 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const threw = await runTable(['map', '_.toUpperCase()'], [['a'], ['b', 7, 'c']], { interval: 1000 })
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /dstream map: batch 2000: function threw TypeError/, 'names operator, batch time and error')
  t.match(threw.stderr, /on record 7/, 'and the record')
  t.same(threw.records, [['A']], 'batches before it came out')
  const bad = await runTable(['map', '('], [['a']])
  t.equal(bad.code, 2, 'a function that does not compile: exit 2')
  t.match(bad.stderr, /dstream map: function does not compile: \(\n\s+SyntaxError/, 'shows the expression and the complaint')
})
