import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords } from '../helpers.js'

const deadLetters = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    // Spark BasicOperationsSuite "filter": input Seq(1 to 4, 5 to 8, 9 to 12), filter(x => x % 2 == 0)
    ['Spark: filter(x => x % 2 == 0)', ['filter', 'x => x % 2 === 0'], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[2, 4], [6, 8], [10, 12]]],
    ['the error lines', ['filter', '_.includes("error")'], [['ok', 'an error', 'error 2'], ['ok']], [['an error', 'error 2'], []]],
    ['truthy, not just true', ['filter', '_.n'], [[{ n: 1 }, { n: 0 }, { n: 'x' }, { n: '' }, {}]], [[{ n: 1 }, { n: 'x' }]]],
    ['pairs', ['filter', '([k, v]) => v > 1'], [[['a', 1], ['b', 2]]], [[['b', 2]]]]
  ]
  for (const [name, words, input, expected] of cases) {
    const ran = await runTable(words, input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['filter', 'true'], [[], [1], []])
  t.same(empty.records, [[], [1], []], 'empty batches stay, as batches')
  const whole = await runTable(['filter', '_ % 2'], [[1, 2, 3, 4, 5]])
  const chunked = await runTable(['filter', '_ % 2'], [[1, 2, 3, 4, 5]], { chunk: 2 })
  t.same(chunked.records, whole.records, 'a chunked batch gives the same records')
  t.same(whole.records, [[1, 3, 5]])
  t.same(chunked.chunks.map(c => c.records), [[1], [3], [5]], 'chunk-wise: one chunk out for each in')
  const dropAll = await runTable(['filter', 'false'], [[1, 2, 3, 4, 5]], { chunk: 2 })
  t.same(dropAll.records, [[]], 'a chunked batch filtered to nothing is still one empty batch')
  const open = await runWords(['filter', 'true'], JSON.stringify({ time: 1000, interval: 1000, records: [1, 2], more: true }) + '\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.same(open.stdout.trim().split('\n').map(l => JSON.parse(l)), [{ time: 1000, interval: 1000, records: [1, 2], more: true }], 'the chunk that came went on as it came, and the batch is never closed')
  const none = await runTable(['filter', 'true'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('bad input', async t => {
  const threw = await runTable(['filter', '_.startsWith("a")'], [['ab'], ['ac', 7]])
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream filter: batch 2000: function threw TypeError.*\n\s+on record 7\n/, 'names operator, batch time and record')
  t.same(threw.records, [['ab']], 'batches before it came out')
  const dir = t.testdir()
  const file = path.join(dir, 'dead.ndjson')
  const onError = await runTable(['filter', '_.startsWith("a")', '--on-error', 'skip', '--dead-letter', file], [['ab', 7, 'b', 'ac']])
  t.equal(onError.code, 0, '--on-error skip: exit 0')
  t.same(onError.records, [['ab', 'ac']], 'the rest of the batch flows')
  t.same(deadLetters(file).map(d => [d.operator, d.time, d.record]), [['filter', 1000, 7]], 'the dead-letter file has the record')
  const notBatch = await runWords(['filter', 'true'], 'hello\n')
  t.equal(notBatch.code, 65, 'a line that is not a batch: exit 65')
  t.match(notBatch.stderr, /^dstream filter: before the first batch: not JSON/)
})

t.test('usage errors', async t => {
  const missing = await runWords(['filter'], '')
  t.equal(missing.code, 2, 'missing FN: exit 2')
  t.match(missing.stderr, /^dstream filter: missing FN\nUsage: dstream filter FN \[options\]/)
  const unknown = await runWords(['filter', 'true', '--nope'], '')
  t.equal(unknown.code, 2, 'unknown option: exit 2')
  t.match(unknown.stderr, /^dstream filter: Unknown argument: nope\n/)
})
