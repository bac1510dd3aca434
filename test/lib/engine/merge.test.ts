// Merger's bounded wait (join --max-wait), driven directly.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Merger } from '../../../lib/engine/merge.js'

const batch = (time: number, records: unknown[] = [time]) => ({ time, interval: 1000, records })

t.test('a stream that is behind is waited for at most maxWait', async t => {
  const out: Array<[number, unknown[][]]> = []
  const said: string[] = []
  const merger = new Merger(['the input', 'other'], 'join', (time, _interval, perStream) => { out.push([time, perStream]) }, { maxWait: 50, warn: text => said.push(text) })
  await merger.push(1, batch(1000, ['o1']))
  await merger.push(0, batch(1000))
  await merger.push(0, batch(2000))
  await merger.push(0, batch(3000))
  t.same(out, [[1000, [[1000], ['o1']]]], 'what pairs goes at once; then the merger waits')
  await sleep(30)
  await merger.push(1, batch(2000, ['o2']))
  t.same(out.at(-1), [2000, [[2000], ['o2']]], 'a batch that comes within the wait is paired')
  await sleep(120)
  t.same(out.at(-1), [3000, [[3000], []]], 'after the wait, the time goes on with the other side empty')
  await merger.push(1, batch(3000, ['late']))
  t.same(said, ['dstream join: batch 3000: waited 50ms for other; taking its batch as empty\n', 'dstream join: batch 3000 of other came after it was taken as empty; dropped\n'])
  await merger.end(0)
  await merger.end(1)
  await merger.finished
  t.equal(out.length, 3, 'the late batch is not handed on')
})

t.test('without maxWait the merger waits as long as it takes', async t => {
  const out: number[] = []
  const merger = new Merger(['the input', 'other'], 'union', time => { out.push(time) })
  await merger.push(0, batch(1000))
  await sleep(60)
  t.same(out, [])
  await merger.push(1, batch(1000))
  t.same(out, [1000])
})
