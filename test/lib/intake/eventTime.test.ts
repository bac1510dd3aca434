// EventTimeBatcher driven directly: batches by the records' own time, the
// watermark, late records, close, and the rebuild from a resume point that a
// replayable source relies on after a crash (lib/intake/replayable.ts).
import t from 'tap'
import { mulberry32 as prng } from '../../../lib/intake/random.js'
import { EventTimeBatcher, before, type EventState, type Position, type Resume } from '../../../lib/intake/eventTime.js'

type Tap = typeof t
interface Rec { id: number, ts: number }
interface Emitted { time: number, records: unknown[], after: number | 'close' }
interface Late { record: unknown, timestamp: number, batch: number }

/** A batcher that records what it emits (and after how many pushes) and what it sets aside. */
function make (interval: number, lateness: number, state?: EventState) {
  const out: Emitted[] = []
  const late: Late[] = []
  let pushes = 0
  let closing = false
  const batcher = new EventTimeBatcher({
    interval,
    lateness,
    state,
    emit (time, records) { out.push({ time, records: [...records], after: closing ? 'close' : pushes }) },
    late (record, timestamp, batch) { late.push({ record, timestamp, batch }) }
  })
  return {
    batcher,
    out,
    late,
    /** what has been emitted, as [time, records] */
    get batches () { return out.map(b => [b.time, b.records]) },
    async push (record: unknown, ts: number, at?: Position) { pushes++; await batcher.push(record, ts, at) },
    async close () { closing = true; await batcher.close() }
  }
}

t.test('a record goes to the batch whose interval holds its timestamp: [time - interval, time)', async t => {
  const b = make(1000, 0)
  await b.push('a', 999)
  t.same(b.batches, [], 'nothing before the watermark reaches the batch time')
  await b.push('b', 1000)
  t.same(b.batches, [[1000, ['a']]], '999 is in [0, 1000): batch 1000, emitted once the watermark is 1000')
  await b.push('c', 1999)
  await b.push('d', 1500)
  t.same(b.batches, [[1000, ['a']]], 'the batch of 1000..1999 waits for the watermark to reach 2000')
  await b.push('e', 2000)
  t.same(b.batches, [[1000, ['a']], [2000, ['b', 'c', 'd']]], '1000 is the start of [1000, 2000); records keep their arrival order')
  await b.close()
  t.same(b.batches.at(-1), [3000, ['e']])
  t.same(b.late, [])

  const neg = make(10, 0)
  await neg.push('x', -15)
  await neg.push('y', -1)
  await neg.close()
  t.same(neg.batches, [[-10, ['x']], [0, ['y']]], 'before the epoch too: -15 is in [-20, -10), -1 in [-10, 0)')
})

t.test('batches leave in time order, each once the watermark (max seen - lateness) reaches its time', async t => {
  const b = make(10, 25)
  await b.push('a', 3)
  await b.push('b', 12)
  await b.push('c', 34)
  t.same(b.batches, [], 'watermark 34 - 25 = 9 < 10: nothing yet')
  t.same(b.batcher.state, { maxSeen: 34, next: null })
  await b.push('d', 21)
  t.same(b.batches, [], 'an earlier timestamp does not move the watermark')
  await b.push('e', 35)
  t.same(b.batches, [[10, ['a']]], 'watermark 10: batch 10 goes, exactly at its time')
  t.equal(b.batcher.time, 20, 'time is the next batch to emit')
  await b.push('f', 44)
  t.same(b.batches, [[10, ['a']]], 'watermark 19 < 20')
  await b.push('g', 45)
  t.same(b.batches, [[10, ['a']], [20, ['b']]], 'watermark 20: batch 20')
  await b.push('h', 70)
  t.same(b.batches.map(([time]) => time), [10, 20, 30, 40], 'watermark 45: batches 30 and 40 at once, in order')
  t.same(b.out.map(e => e.after), [5, 7, 8, 8], 'each left during the push that moved the watermark past it')
  await b.close()
  t.same(b.batches, [[10, ['a']], [20, ['b']], [30, ['d']], [40, ['c', 'e']], [50, ['f', 'g']], [60, []], [70, []], [80, ['h']]])
  t.same(b.late, [])
})

t.test('gaps give empty batches', async t => {
  const b = make(10, 0)
  await b.push('a', 5)
  await b.push('b', 47)
  t.same(b.batches, [[10, ['a']], [20, []], [30, []], [40, []]], 'every interval up to the watermark, empty ones included')
  await b.close()
  t.same(b.batches.slice(4), [[50, ['b']]])
})

t.test('the first batch emitted is the earliest bucket, even when its records came after a later one', async t => {
  // lateness 100: nothing is emitted before 'z', so no batch was emitted when 'b' and 'c'
  // came, and neither can be late
  const b = make(10, 100)
  await b.push('a', 55)
  await b.push('b', 23)
  await b.push('c', 41)
  t.same(b.batches, [], 'watermark -45: nothing emitted yet')
  await b.push('z', 200)
  t.same(b.late.map(l => [l.record, l.timestamp, l.batch]), [],
    'no batch was emitted when 23 and 41 came (watermark -45), yet they went to late: the first batch to emit is fixed at the first record\'s batch (60) on the first push')
  t.same(b.batches[0], [30, ['b']], 'the first batch emitted is 30, the earliest bucket')
  t.same(b.batches.map(([time]) => time), [30, 40, 50, 60, 70, 80, 90, 100], 'then every batch up to the watermark 100')
  t.same(b.batches.find(([time]) => time === 50), [50, ['c']], 'c is in batch 50')
})

t.test('a record whose batch was emitted already goes to late, with its timestamp and batch', async t => {
  const b = make(10, 5)
  await b.push({ id: 1 }, 3)
  await b.push({ id: 2 }, 17)
  t.same(b.batches, [[10, [{ id: 1 }]]], 'watermark 12: batch 10 went')
  await b.push({ id: 3 }, 8)
  await b.push({ id: 4 }, 0)
  t.same(b.late, [{ record: { id: 3 }, timestamp: 8, batch: 10 }, { record: { id: 4 }, timestamp: 0, batch: 10 }])
  await b.push({ id: 5 }, 12)
  t.equal(b.late.length, 2, 'a record of a batch not yet emitted is not late, however old')
  t.same(b.batcher.state, { maxSeen: 17, next: 20 }, 'late records leave the clock alone')
  await b.close()
  t.same(b.batches, [[10, [{ id: 1 }]], [20, [{ id: 2 }, { id: 5 }]]])
})

t.test('a late record is handed on with where it was read (a rebuild uses it not to set it aside twice)', async t => {
  const late: unknown[][] = []
  const b = new EventTimeBatcher({ interval: 10, lateness: 0, emit: () => {}, late: (...args: unknown[]) => { late.push(args) } })
  await b.push('a', 5, { read: 1, line: 0 })
  await b.push('b', 25, { read: 1, line: 1 })
  await b.push('c', 7, { read: 2, line: 4 })
  await b.push('d', 8)
  t.same(late, [['c', 7, 10, { read: 2, line: 4 }], ['d', 8, 10, undefined]])
})

t.test('close emits every pending batch in order, with the gaps', async t => {
  const b = make(10, 1000)
  for (const ts of [5, 27, 61, 43, 28]) await b.push(ts, ts)
  t.same(b.batches, [], 'nothing has passed the watermark')
  await b.close()
  t.same(b.batches, [[10, [5]], [20, []], [30, [27, 28]], [40, []], [50, [43]], [60, []], [70, [61]]])
  t.ok(b.out.every(e => e.after === 'close'))

  const empty = make(10, 0)
  await empty.close()
  t.same(empty.batches, [], 'no records, no batches')

  const drained = make(10, 0)
  await drained.push('a', 5)
  await drained.push('b', 30)
  t.same(drained.batches.map(([time]) => time), [10, 20, 30])
  await drained.close()
  t.same(drained.batches.slice(3), [[40, ['b']]], 'close emits what is pending, then no more')
})

t.test('lateness 0: a batch goes as soon as a record reaches its end', async t => {
  const b = make(10, 0)
  await b.push('a', 10)
  await b.push('b', 19)
  t.same(b.batches, [], 'watermark 19 < 20')
  await b.push('c', 20)
  t.same(b.batches, [[20, ['a', 'b']]])
  await b.push('d', 19)
  t.same(b.late, [{ record: 'd', timestamp: 19, batch: 20 }], 'any record of an emitted batch is late')
  await b.push('e', 20)
  await b.push('f', 21)
  await b.close()
  t.same(b.batches, [[20, ['a', 'b']], [30, ['c', 'e', 'f']]])
})

t.test('push waits for a slow consumer', async t => {
  let release!: () => void
  const order: string[] = []
  const b = new EventTimeBatcher({
    interval: 10,
    lateness: 0,
    emit: time => { order.push(`emit ${time}`); return new Promise<void>(resolve => { release = resolve }) },
    late: () => {}
  })
  t.equal(b.push('a', 5), undefined, 'nothing to emit: nothing to wait for')
  const waiting = b.push('b', 10)
  t.ok(waiting instanceof Promise, 'the push that emits returns a promise')
  void (waiting as Promise<void>).then(() => order.push('push done'))
  await new Promise(resolve => setImmediate(resolve))
  t.same(order, ['emit 10'], 'not done while the consumer has not taken the batch')
  release()
  await waiting
  t.same(order, ['emit 10', 'push done'])
})

// ---------------------------------------------------------------------------
// Property test against a reference computed from the raw data


interface Scenario { seed: number, interval: number, lateness: number, records: Rec[] }

/** N records whose timestamps drift forward, with small disorder and now and then a big delay. */
function scenario (seed: number): Scenario {
  const rnd = prng(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))
  const interval = [1, 7, 10, 60, 1000][int(0, 4)]
  const lateness = [0, Math.floor(interval / 2), interval * 3, int(0, 5 * interval)][int(0, 3)]
  const n = int(1, 300)
  const step = int(0, 2 * interval)
  const small = int(0, 2 * interval)
  const big = int(1, 10 * interval + lateness)
  let clock = int(-20 * interval, 20 * interval)
  const records: Rec[] = []
  for (let id = 0; id < n; id++) {
    clock += int(0, step)
    const r = rnd()
    const disorder = r < 0.7 ? 0 : r < 0.95 ? int(0, small) : int(0, big)
    records.push({ id, ts: clock - disorder })
  }
  return { seed, interval, lateness, records }
}

/** The same records, the one with the smallest timestamp moved first. */
function earliestFirst (s: Scenario): Scenario {
  const records = [...s.records]
  let min = 0
  records.forEach((r, i) => { if (r.ts < records[min].ts) min = i })
  records.unshift(...records.splice(min, 1))
  return { ...s, records }
}

const batchOf = (ts: number, interval: number) => Math.floor(ts / interval) * interval + interval

interface Reference { batches: Emitted[], late: Late[] }

/**
 * The watermark rule replayed from the raw data, without buckets: the watermark after
 * record j is max(ts[0..j]) - lateness; emitting starts after the first record j at
 * which the earliest batch so far is <= the watermark, and from then on every batch
 * time <= the watermark has been emitted. So record i is late iff emitting had started
 * before it and its batch time <= the watermark before it. The batches are every
 * interval from the earliest batch of a record that was not late to the latest; batch
 * b leaves after the first push j >= start with watermark >= b, else at close.
 */
function reference ({ interval, lateness, records }: Scenario): Reference {
  const late: Late[] = []
  const kept: Rec[] = []
  const wm: number[] = []
  let maxSeen = -Infinity
  let min = Infinity
  let start = -1
  records.forEach((r, i) => {
    const batch = batchOf(r.ts, interval)
    if (start >= 0 && batch <= wm[i - 1]) late.push({ record: r, timestamp: r.ts, batch })
    else { kept.push(r); min = Math.min(min, batch) }
    maxSeen = Math.max(maxSeen, r.ts)
    wm[i] = maxSeen - lateness
    if (start < 0 && min <= wm[i]) start = i
  })
  const batches: Emitted[] = []
  if (kept.length === 0) return { batches, late }
  const max = Math.max(...kept.map(r => batchOf(r.ts, interval)))
  for (let time = min; time <= max; time += interval) {
    let after: number | 'close' = 'close'
    if (start >= 0) {
      const j = wm.findIndex((w, i) => i >= start && w >= time)
      if (j >= 0) after = j + 1
    }
    batches.push({ time, records: kept.filter(r => batchOf(r.ts, interval) === time), after })
  }
  return { batches, late }
}

async function runAll (s: Scenario) {
  const b = make(s.interval, s.lateness)
  for (const r of s.records) await b.push(r, r.ts)
  await b.close()
  return b
}

const SEEDS = Array.from({ length: 40 }, (_, i) => 1000 + i)
if (process.env.SEED) SEEDS.push(Number(process.env.SEED))

function checkAgainstReference (t: Pick<Tap, 'same'>, s: Scenario, ran: Awaited<ReturnType<typeof runAll>>): boolean {
  const ref = reference(s)
  // what the known failure looks like: records that came before any batch was emitted,
  // with a batch earlier than the first record's, are taken as late
  const b0 = batchOf(s.records[0].ts, s.interval)
  const first = ref.batches[0]?.after
  const early = s.records.filter((r, i) => (first === 'close' || i < (first ?? 0)) && batchOf(r.ts, s.interval) < b0).length
  const what = `seed ${s.seed} (${s.records.length} records, interval ${s.interval}, lateness ${s.lateness}; ${early} came before the first batch was emitted with a batch earlier than the first record's; SEED=${s.seed} to add it)`
  let ok = true
  ok = t.same(ran.out.map(b => [b.time, b.records]), ref.batches.map(b => [b.time, b.records]), `${what}: the records of every batch`) && ok
  ok = t.same(ran.late, ref.late, `${what}: the late records`) && ok
  ok = t.same(ran.out.map(b => [b.time, b.after]), ref.batches.map(b => [b.time, b.after]), `${what}: each batch leaves during the push that moves the watermark past it (or at close)`) && ok
  const seen = new Map<number, number>()
  for (const b of ran.out) for (const r of b.records as Rec[]) seen.set(r.id, (seen.get(r.id) ?? 0) + 1)
  for (const l of ran.late) seen.set((l.record as Rec).id, (seen.get((l.record as Rec).id) ?? 0) + 1)
  const wrong = s.records.filter(r => seen.get(r.id) !== 1).map(r => [r.id, seen.get(r.id) ?? 0])
  ok = t.same(wrong, [], `${what}: every record in exactly one batch or late ([id, times seen])`) && ok
  return ok
}

t.test('property: the batches and the late records follow from the watermark rule (seeded)', async t => {
  let failed = 0
  for (const seed of SEEDS) {
    const s = scenario(seed)
    if (!checkAgainstReference(t, s, await runAll(s))) failed++
  }
  t.equal(failed, 0, `seeds that disagree with the reference: ${failed} of ${SEEDS.length}`)
})

t.test('property, with the earliest record first (the first batch is then the first record\'s)', async t => {
  let failed = 0
  for (const seed of SEEDS) {
    const s = earliestFirst(scenario(seed))
    if (!checkAgainstReference(t, s, await runAll(s))) failed++
  }
  t.equal(failed, 0, `seeds that disagree with the reference: ${failed} of ${SEEDS.length}`)
})

t.test('the property test generates what it means to test', async t => {
  // the scenarios are worth something only if they have disorder, late records and gaps
  let late = 0
  let gaps = 0
  let outOfOrder = 0
  for (const seed of SEEDS) {
    const s = scenario(seed)
    const ref = reference(s)
    late += ref.late.length
    gaps += ref.batches.filter(b => b.records.length === 0).length
    outOfOrder += s.records.filter((r, i) => i > 0 && r.ts < s.records[i - 1].ts).length
  }
  t.ok(late > 50, `late records: ${late}`)
  t.ok(gaps > 50, `empty batches: ${gaps}`)
  t.ok(outOfOrder > 200, `records earlier than the one before: ${outOfOrder}`)
})

// ---------------------------------------------------------------------------
// Rebuild determinism: what lib/intake/replayable.ts relies on after a crash

interface Positioned extends Rec { at: Position }

/** The records read in reads of 1..8 lines, numbered from 1 as in the source log. */
function positioned (s: Scenario, seed: number): Positioned[] {
  const rnd = prng(seed ^ 0x5bd1e995)
  const out: Positioned[] = []
  let read = 1
  let line = 0
  let size = 1 + Math.floor(rnd() * 8)
  for (const r of s.records) {
    if (line === size) { read++; line = 0; size = 1 + Math.floor(rnd() * 8) }
    out.push({ ...r, at: { read, line } })
    line++
  }
  return out
}

interface Captured { time: number, records: unknown[], resume: Resume, index: number }

/**
 * Pushes records as ReplayableIntake.take does: the position after the record being
 * pushed is `next` while it is pushed; after the last one, the start of the next read.
 * At every emitted batch the resume point is captured, as emitEvent logs it.
 */
async function runPositioned (s: Scenario, records: Positioned[], resume?: Resume) {
  const out: Captured[] = []
  const late: Late[] = []
  let next: Position = records[0]?.at ?? { read: 1, line: 0 }
  let index = -1
  const batcher: EventTimeBatcher = new EventTimeBatcher({
    interval: s.interval,
    lateness: s.lateness,
    state: resume?.state,
    // where this run's input begins, as ReplayableIntake gives it
    origin: resume ?? { at: next, state: { maxSeen: null, next: null } },
    emit (time, recs) {
      // as logged: JSON, so the rebuild gets no shared objects
      out.push({ time, records: [...recs], resume: JSON.parse(JSON.stringify(batcher.resume(next))), index })
    },
    late (record, timestamp, batch) { late.push({ record, timestamp, batch }) }
  })
  for (const [i, r] of records.entries()) {
    index = i
    next = { read: r.at.read, line: r.at.line + 1 }
    await batcher.push(r, r.ts, r.at)
  }
  next = { read: (records.at(-1)?.at.read ?? 0) + 1, line: 0 }
  index = records.length
  await batcher.close()
  return { out, late }
}

t.test('rebuild from a logged resume point: the batches after it are those of the run that did not stop', async t => {
  let rebuilds = 0
  let failed = 0
  for (const seed of SEEDS) {
    // as generated, and with the earliest record first (the rule the first test pins down aside)
    for (const [label, s] of [['', scenario(seed)], [' (earliest first)', earliestFirst(scenario(seed))]] as const) {
      const records = positioned(s, seed)
      const whole = await runPositioned(s, records)
      const rnd = prng(seed * 7 + 1)
      // several batches B of the run: the first, the last, and some between
      const picks = new Set<number>([0, whole.out.length - 1])
      for (let k = 0; k < 6; k++) picks.add(Math.floor(rnd() * whole.out.length))
      const expected: unknown[] = []
      const got: unknown[] = []
      for (const k of [...picks].filter(k => k >= 0).sort((a, b) => a - b)) {
        const B = whole.out[k]
        const from = records.filter(r => !before(r.at, B.resume.at))
        const again = await runPositioned(s, from, B.resume)
        const where = `after batch ${B.time} (#${k}), resume at ${B.resume.at.read}:${B.resume.at.line} with ${JSON.stringify(B.resume.state)}`
        // records read after the one whose push emitted B come live after the restart:
        // they must be late in the rebuilt batcher exactly when they were in the whole run
        const live = new Set(records.slice(B.index + 1).map(r => r.id))
        const lateIds = (ls: Late[]) => ls.map(l => (l.record as Rec).id).filter(id => live.has(id))
        expected.push({ where, batches: whole.out.slice(k + 1).map(b => [b.time, b.records]), late: lateIds(whole.late) })
        got.push({ where, batches: again.out.filter(b => b.time > B.time).map(b => [b.time, b.records]), late: lateIds(again.late) })
        rebuilds++
      }
      const what = `seed ${seed}${label} (${records.length} records in ${records.at(-1)?.at.read ?? 0} reads, interval ${s.interval}, lateness ${s.lateness}): rebuilt at ${expected.length} batches, the batches after B and the late live records`
      if (!t.same(got, expected, what)) failed++
    }
  }
  t.ok(rebuilds > 200, `rebuilt ${rebuilds} times`)
  t.equal(failed, 0, `runs where a rebuild differs: ${failed} of ${SEEDS.length * 2}`)
})

t.test('rebuild: the resume point is the first record of the earliest-read pending batch, with the clock before it', async t => {
  const records: Positioned[] = [
    { id: 0, ts: 5, at: { read: 1, line: 0 } },
    { id: 1, ts: 25, at: { read: 1, line: 1 } },
    { id: 2, ts: 15, at: { read: 2, line: 0 } },
    { id: 3, ts: 31, at: { read: 2, line: 1 } },
    { id: 4, ts: 42, at: { read: 3, line: 0 } }
  ]
  const whole = await runPositioned({ seed: 0, interval: 10, lateness: 10, records }, records)
  t.same(whole.out.map(b => [b.time, b.records.map(r => (r as Rec).id)]), [[10, [0]], [20, [2]], [30, [1]], [40, [3]], [50, [4]]])
  t.same(whole.out[0].resume, { at: { read: 1, line: 0 }, state: { maxSeen: null, next: null } },
    'batch 10 leaves while record 1 (ts 25) is pushed: its bucket 30 was opened before the first batch left, so a rebuild starts where the input starts')
  t.same(whole.out[1].resume, whole.out[0].resume, 'after 20, bucket 30 is still pending')
  t.same(whole.out[2].resume, { at: { read: 2, line: 1 }, state: { maxSeen: 25, next: 20 } }, 'after 30, bucket 40 (read 2 line 1) is the earliest pending')
  t.same(whole.out[3].resume, { at: { read: 3, line: 0 }, state: { maxSeen: 31, next: 30 } }, 'after 40 (at close), bucket 50')
  t.same(whole.out[4].resume, { at: { read: 4, line: 0 }, state: { maxSeen: 42, next: 60 } }, 'after the last batch, nothing pending: the position after the last record')
  const again = await runPositioned({ seed: 0, interval: 10, lateness: 10, records }, records, whole.out[0].resume)
  t.same(again.out.map(b => [b.time, b.records.map(r => (r as Rec).id)]), [[10, [0]], [20, [2]], [30, [1]], [40, [3]], [50, [4]]],
    'rebuilt from the start: batch 10 comes again (dropped by the source), the rest as before')
  const later = await runPositioned({ seed: 0, interval: 10, lateness: 10, records }, records.slice(3), whole.out[2].resume)
  t.same(later.out.filter(b => b.time > 30).map(b => [b.time, b.records.map(r => (r as Rec).id)]), [[40, [3]], [50, [4]]], 'rebuilt from after 30: the batches after it as before')
})
