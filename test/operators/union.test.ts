import fs from 'node:fs'
import t from 'tap'
import { batchLines, runTable, runWords, sh, type TableOptions } from '../helpers.js'

/** A file of batches, for --with. */
function stream (dir: string, name: string, batches: unknown[][], options?: TableOptions): string {
  fs.writeFileSync(`${dir}/${name}`, batchLines(batches, options))
  return `${dir}/${name}`
}

t.test('cases', async t => {
  const dir = t.testdir()
  const b = stream(dir, 'b', [['b1'], [], ['b3']])
  const c = stream(dir, 'c', [['c1', 'c2'], ['c2'], []])
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['two streams, batch by batch', ['--with', b], [['a1'], ['a2'], []], [['a1', 'b1'], ['a2'], ['b3']]],
    ['three streams, in the order given', ['--with', b, '--with', c], [['a1'], ['a2'], ['a3']], [['a1', 'b1', 'c1', 'c2'], ['a2', 'c2'], ['a3', 'b3']]],
    ['--with a b is --with a --with b', ['--with', b, c], [['a1'], ['a2'], ['a3']], [['a1', 'b1', 'c1', 'c2'], ['a2', 'c2'], ['a3', 'b3']]],
    ['the same stream twice gives its records twice', ['--with', b, b], [[], [], []], [['b1', 'b1'], [], ['b3', 'b3']]],
    ['any records', ['--with', stream(dir, 'pairs', [[['k', 1], { o: [1] }]])], [[null, 2]], [[null, 2, ['k', 1], { o: [1] }]]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['union', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const dir = t.testdir()
  const late = stream(dir, 'late', [['l3'], ['l4']], { start: 3000 })
  const ran = await runTable(['union', '--with', late], [['a1'], ['a2'], ['a3']])
  t.same(ran.batches.map(b => [b.time, b.records]), [[1000, ['a1']], [2000, ['a2']], [3000, ['a3', 'l3']], [4000, ['l4']]],
    'a stream that starts later adds nothing before; one that ends earlier nothing after')

  const other = stream(dir, 'other', [['x', 'y', 'z'], []], { chunk: 1 })
  const whole = await runTable(['union', '--with', other], [[1, 2, 3, 4], []])
  const chunked = await runTable(['union', '--with', other], [[1, 2, 3, 4], []], { chunk: 3 })
  t.same(chunked.records, whole.records, 'chunked batches give the same output')
  t.same(whole.records, [[1, 2, 3, 4, 'x', 'y', 'z'], []], 'empty batches stay, as batches')

  const none = await runTable(['union', '--with', other], [])
  t.same(none.records, [['x', 'y', 'z'], []], 'no input: the other stream still comes out')
  const empty = await runTable(['union', '--with', stream(dir, 'empty', [])], [])
  t.same([empty.code, empty.stdout], [0, ''], 'no input anywhere: no output, exit 0')
})

t.test('bad input', async t => {
  const dir = t.testdir()
  const slow = stream(dir, 'slow', [['s']], { interval: 2000 })
  const ran = await runTable(['union', '--with', slow], [['a'], ['b']])
  t.equal(ran.code, 65, 'streams of different intervals: exit 65')
  t.match(ran.stderr, /^dstream union: batch 1000: streams of different intervals cannot be paired: the input has 1000 ms, .*slow has 2000 ms/, 'names the operator, the batch and the streams')

  fs.writeFileSync(`${dir}/broken`, batchLines([['x']]) + 'oops\n')
  const broken = await runTable(['union', '--with', `${dir}/broken`], [['a'], ['b']])
  t.equal(broken.code, 65, 'a --with stream line that is not a batch: exit 65')
  t.match(broken.stderr, /dstream union: after batch 1000: not JSON .*: "oops"/, 'names the operator, the batch before and the line')

  fs.writeFileSync(`${dir}/back`, batchLines([['x']], { start: 3000 }) + batchLines([['y']], { start: 2000 }))
  const back = `${dir}/back`
  const backwards = await runTable(['union', '--with', back], [['a']])
  t.equal(backwards.code, 65, 'a --with stream whose time goes backwards: exit 65')
  t.match(backwards.stderr, /dstream union: after batch 3000: --with stream 1: batch time goes backwards: 2000 after 3000/, 'names the stream')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['union'], /needs at least one --with STREAM/],
    [['union', '--with'], /needs at least one --with STREAM/],
    [['union', '--with', '/no/such/file'], /--with \/no\/such\/file: no such file or FIFO/],
    [['union', 'extra'], /unexpected argument 'extra'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords(words, '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})

t.test('real streams', async t => {
  const dir = t.testdir()
  stream(dir, 'file', [['a1'], ['a2'], ['a3']])
  stream(dir, 'b', [['b2']], { start: 2000 })
  const ran = await sh(`cd ${dir} && dstream union --with file <(dstream map '_.toUpperCase()' < b) then map '_ + "!"'`,
    { input: batchLines([['x1'], [], ['x3']]) })
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.stdout.trim().split('\n').map(l => JSON.parse(l).records), [['x1!', 'a1!'], ['a2!', 'B2!'], ['x3!', 'a3!']],
    'stdin, a file and a process substitution, paired by time, then fused with map')

  const fifo = await sh(`cd ${dir} && mkfifo f && { (sleep 0.3; cat file) > f & dstream union --with f | dstream print; }`, { input: batchLines([['early'], []]) })
  t.equal(fifo.code, 0, fifo.stderr)
  t.match(fifo.stdout, /Time: 1000 ms\n-+\nearly\na1\n\n-+\nTime: 2000 ms\n-+\na2\n\n-+\nTime: 3000 ms\n-+\na3\n\n$/, 'a FIFO whose batches come later: union waits for them')
})
