import t from 'tap'
import { formatChunk, parseChunk, batchTimeOf } from '../../../lib/core/wire.js'
import { runWords } from '../../helpers.js'

t.test('cases', async t => {
  t.same(parseChunk('{"time":2000,"interval":1000,"records":["a",1]}'), { time: 2000, interval: 1000, records: ['a', 1] })
  t.same(parseChunk('{"time":2000,"interval":1000,"records":[],"more":true}'), { time: 2000, interval: 1000, records: [], more: true })
  const kept = parseChunk('{"time":2000,"interval":1000,"offsets":[{"p":0}],"records":[]}')
  t.same(kept, { time: 2000, interval: 1000, records: [], extra: { offsets: [{ p: 0 }] } }, 'unknown fields are kept')
  t.equal(formatChunk(kept as any), '{"time":2000,"interval":1000,"offsets":[{"p":0}],"records":[]}\n', 'and written back')
  t.equal(formatChunk({ time: 5000, interval: 5000, records: ['x'], more: true }), '{"time":5000,"interval":5000,"records":["x"],"more":true}\n')
  t.equal(batchTimeOf(1700000003210, 5000), 1700000005000, 'an instant belongs to the batch ending at the next boundary')
  t.equal(batchTimeOf(1700000005000, 5000), 1700000010000, 'intervals are half-open [time - interval, time)')
})

t.test('bad input', async t => {
  const wrong: Array<[string, RegExp]> = [
    ['not json', /not JSON/],
    ['[1,2]', /expected a JSON object/],
    ['{"time":2000,"records":[]}', /"interval" must be a positive integer/],
    ['{"time":"x","interval":1000,"records":[]}', /"time" must be an integer/],
    ['{"time":2500,"interval":1000,"records":[]}', /not aligned/],
    ['{"time":2000,"interval":1000,"records":{}}', /"records" must be an array/],
    ['{"time":2000,"interval":1000,"records":[],"more":1}', /"more" must be true or absent/]
  ]
  for (const [line, why] of wrong) t.match(parseChunk(line), why, line)
})

t.test('an operator given bad lines', async t => {
  const good = '{"time":1000,"interval":1000,"records":["a"]}\n'
  const notJson = await runWords(['map', '_'], good + 'hello\n')
  t.equal(notJson.code, 65, 'a line that is not JSON: exit 65')
  t.match(notJson.stderr, /^dstream map: after batch 1000: not JSON .*: "hello"/, 'names operator, the last batch and the line')
  t.match(notJson.stdout, /"records":\["a"\]/, 'the batch before it was written')

  const backwards = await runWords(['map', '_'], good + '{"time":1000,"interval":1000,"records":["b"]}\n')
  t.equal(backwards.code, 65, 'a batch time that goes backwards: exit 65')
  t.match(backwards.stderr, /batch time goes backwards: 1000 after 1000/)

  const inside = await runWords(['reduce-by-key', 'sum'], '{"time":1000,"interval":1000,"records":[["a",1]],"more":true}\n{"time":2000,"interval":1000,"records":[]}\n')
  t.equal(inside.code, 65, 'a new batch before the last chunk of the open one: exit 65')
  t.match(inside.stderr, /chunk of batch 2000 inside batch 1000/)

  const dir = t.testdir()
  const skipped = await runWords(['map', '_', '--on-bad-input', 'skip', '--dead-letter', `${dir}/dl.ndjson`], good + 'hello\n{"time":2000,"interval":1000,"records":["c"]}\n')
  t.equal(skipped.code, 0, 'with --on-bad-input skip the stream goes on')
  t.match(skipped.stdout, /"records":\["c"\]/)
  t.match(skipped.stderr, /dstream map: 1 input set aside in .*dl\.ndjson/, 'and says how much it set aside')
  const { readFileSync } = await import('node:fs')
  t.match(JSON.parse(readFileSync(`${dir}/dl.ndjson`, 'utf8')), { operator: 'map', time: 1000, line: 'hello' }, 'the line is in the dead-letter file')
})

t.test('end of input inside a batch', async t => {
  const ran = await runWords(['reduce-by-key', 'sum'], '{"time":1000,"interval":1000,"records":[["a",1]],"more":true}\n')
  t.equal(ran.code, 1, 'the command before died: exit 1')
  t.match(ran.stderr, /input ended inside batch 1000 \(did the command before this one die\?\); that partial batch is dropped, not passed on/, 'says so')
  t.equal(ran.stdout, '', 'and passes nothing of the partial batch on: a sink would commit it, and a replay count it twice')
})
