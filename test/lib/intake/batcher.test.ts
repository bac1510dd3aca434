import t from 'tap'
import { Batcher } from '../../../lib/intake/batcher.js'
import type { Chunk } from '../../../lib/core/types.js'

function make (interval: number, chunk: number, start: number) {
  let now = start
  const out: Chunk[] = []
  const batcher = new Batcher(interval, chunk, { emit: c => { out.push(c) } }, () => now)
  return { batcher, out, at (ms: number) { now = ms } }
}

t.test('processing-time batches aligned to the epoch', async t => {
  const { batcher, out, at } = make(1000, 100, 10_250)
  batcher.push('a')
  batcher.push('b')
  at(11_000)
  batcher.catchUp()
  t.same(out, [{ time: 11_000, interval: 1000, records: ['a', 'b'] }], 'the batch closes at the end of its interval')
  batcher.push('c')
  batcher.close()
  t.same(out[1], { time: 12_000, interval: 1000, records: ['c'] }, 'end of input closes the open batch at once')
  batcher.push('late')
  t.equal(out.length, 2, 'nothing after close')
})

t.test('records that keep coming after a graceful stop belong to no batch', async t => {
  const { batcher, out } = make(1000, 2, 10_250)
  batcher.push('a')
  batcher.close()
  // a reader flooded by its input (yes | dstream batch) still hands lines over
  for (const r of ['b', 'c', 'd', 'e']) batcher.push(r)
  t.same(out, [{ time: 11_000, interval: 1000, records: ['a'] }], 'no chunk of the closed batch after it closed')
})

t.test('an empty batch for every interval, even when the timer was late', async t => {
  const { batcher, out, at } = make(1000, 100, 10_000)
  at(13_500)
  batcher.catchUp()
  t.same(out.map(c => [c.time, c.records.length]), [[11_000, 0], [12_000, 0], [13_000, 0]])
  batcher.close()
  t.same(out[3], { time: 14_000, interval: 1000, records: [] })
})

t.test('chunks of at most N records while the interval is open', async t => {
  const { batcher, out } = make(5000, 2, 10_001)
  for (const r of ['a', 'b', 'c', 'd', 'e']) batcher.push(r)
  batcher.close()
  t.same(out, [
    { time: 15_000, interval: 5000, records: ['a', 'b'], more: true },
    { time: 15_000, interval: 5000, records: ['c', 'd'], more: true },
    { time: 15_000, interval: 5000, records: ['e'] }
  ])
})

t.test('backpressure: push returns the consumer\'s promise', async t => {
  let release!: () => void
  const waiting = new Promise<void>(resolve => { release = resolve })
  const batcher = new Batcher(1000, 1, { emit: () => waiting }, () => 10_000)
  t.equal(batcher.push('a'), waiting, 'the source is told to wait')
  release()
  batcher.close()
})
