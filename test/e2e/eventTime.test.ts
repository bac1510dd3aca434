// Batching by event time through real commands and pipes (EXAMPLES 13): records
// with their own timestamps, out of order, some later than the watermark; the
// windows come out the same whether the log is replayed at full speed or lived
// through slowly, and the late records are in the dead-letter file.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { mulberry32 as prng } from '../../lib/intake/random.js'
import { parseOutput, sh } from '../helpers.js'
import type { Chunk } from '../../lib/core/types.js'

const MINUTE = 60_000
const INTERVAL = MINUTE
const LATENESS = 10 * MINUTE
const LENGTH = 10 * MINUTE
const SLIDE = 5 * MINUTE
const WITHIN = 60 * MINUTE

interface Hit { id: number, guid: string, ts: number, path: string, status: number }


/**
 * A day of access-log records: the clock goes forward ~43 s a record; most records
 * are a little out of order, some up to 9 minutes, a few 10 to 45 minutes (mostly later
 * than the watermark); 2% are delivered twice, a few lines apart, with the same guid.
 * The log starts mid-stream: its second record is 3 minutes older than its first.
 */
function dayOfHits (seed: number, n = 2000): Hit[] {
  const rnd = prng(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))
  let clock = Date.UTC(2024, 4, 1) + 17_345
  const hits: Hit[] = []
  for (let id = 0; id < n; id++) {
    clock += int(0, 86_000)
    const r = rnd()
    const disorder = id === 0 ? 0 : id === 1 ? 3 * MINUTE : r < 0.8 ? int(0, MINUTE) : r < 0.96 ? int(0, 9 * MINUTE) : int(10 * MINUTE, 45 * MINUTE)
    hits.push({ id, guid: (seed * 1_000_003 + id * 7919).toString(16), ts: clock - disorder, path: ['/', '/a', '/b', '/login'][int(0, 3)], status: [200, 200, 200, 404, 500][int(0, 4)] })
  }
  const log = [...hits]
  for (const hit of hits) if (rnd() < 0.02) log.splice(Math.min(log.length, log.indexOf(hit) + int(1, 5)), 0, hit)
  return log
}

/** The same log with its earliest record moved first. */
function earliestFirst (log: Hit[]): Hit[] {
  const min = log.reduce((m, h, i) => h.ts < log[m].ts ? i : m, 0)
  return [log[min], ...log.slice(0, min), ...log.slice(min + 1)]
}

const batchOf = (ts: number) => Math.floor(ts / INTERVAL) * INTERVAL + INTERVAL

interface Reference {
  /** the 1-minute batches, every interval from the first to the last */
  batches: Array<[number, Hit[]]>
  late: Array<{ record: Hit, batch: number }>
  /** count-by-window after drop-duplicates */
  windows: Array<[number, number]>
}

/**
 * From the raw data: record i is late iff a batch had been emitted before it and its
 * batch time <= the watermark (max timestamp so far - lateness) before it; emitting
 * starts once the earliest batch seen is <= the watermark. Then drop-duplicates by guid
 * (--within), then a count per window at every batch time that is a multiple of the slide.
 */
function reference (log: Hit[]): Reference {
  const late: Reference['late'] = []
  const kept: Hit[] = []
  let maxSeen = -Infinity
  let wm = -Infinity
  let min = Infinity
  let started = false
  for (const hit of log) {
    const batch = batchOf(hit.ts)
    if (started && batch <= wm) late.push({ record: hit, batch })
    else { kept.push(hit); min = Math.min(min, batch) }
    maxSeen = Math.max(maxSeen, hit.ts)
    wm = maxSeen - LATENESS
    started ||= min <= wm
  }
  const max = Math.max(...kept.map(h => batchOf(h.ts)))
  const batches: Reference['batches'] = []
  for (let time = min; time <= max; time += INTERVAL) batches.push([time, kept.filter(h => batchOf(h.ts) === time)])
  const keptAt = new Map<string, number>()
  const counts = new Map<number, number>()
  for (const [time, hits] of batches) {
    let count = 0
    for (const hit of hits) {
      const at = keptAt.get(hit.guid)
      if (at !== undefined && time - at < WITHIN) continue
      keptAt.set(hit.guid, time)
      count++
    }
    counts.set(time, count)
  }
  const windows: Reference['windows'] = []
  for (const [time] of batches) {
    if (time % SLIDE !== 0) continue
    let sum = 0
    for (const [t, c] of counts) if (t > time - LENGTH && t <= time) sum += c
    windows.push([time, sum])
  }
  return { batches, late, windows }
}

// the stateful operators checkpoint every 500 batches: at every batch (the default), a
// checkpoint costs ~7 ms, which makes a day of 1-minute batches take ~10 s per operator
const JOB = `dstream batch 1m --json --event-time _.ts --watermark 10m | tee batches.ndjson | dstream drop-duplicates _.guid --within 1h --checkpoint-every 500 | dstream count-by-window --length 10m --slide 5m --checkpoint-every 500`

const ndjson = (records: unknown[]) => records.map(r => JSON.stringify(r) + '\n').join('')
const deadLetter = (dir: string) => readDead(path.join(dir, 'state', 'dead-letter.ndjson'))
const batchesOf = (stdout: string) => parseOutput(stdout).batches
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Runs the job in `dir` with the log fed by `feed` (a shell command run in `dir`). */
async function runJob (dir: string, feed: string) {
  const ran = await sh(`${feed} | ${JOB}`, { cwd: dir, env: { DSTREAM_STATE_DIR: path.join(dir, 'state') } })
  return {
    ...ran,
    windows: batchesOf(ran.stdout),
    batches: fs.existsSync(path.join(dir, 'batches.ndjson')) ? batchesOf(fs.readFileSync(path.join(dir, 'batches.ndjson'), 'utf8')) : [],
    dead: deadLetter(dir)
  }
}

type Tap = Pick<typeof t, 'ok' | 'same' | 'equal' | 'match' | 'comment' | 'testdir'>

async function checkJob (t: Tap, log: Hit[], what: string) {
  const dir = t.testdir({ 'log.ndjson': ndjson(log) })
  const ref = reference(log)
  t.ok(ref.late.length >= 10 && ref.late.length < log.length / 10, `${what}: the log has some late records (${ref.late.length} of ${log.length})`)
  t.ok(log.length - new Set(log.map(h => h.guid)).size >= 20, `${what}: and repeated guids`)
  const started = Date.now()
  const ran = await runJob(dir, 'cat log.ndjson')
  t.comment(`${what}: ${log.length} records through the job in ${Date.now() - started} ms`)
  t.equal(ran.code, 0, `exit 0 (stderr: ${ran.stderr.trim()})`)
  t.same(ran.batches.map(b => [b.time, b.interval, b.records.length]), ref.batches.map(([time, hits]) => [time, INTERVAL, hits.length]),
    `${what}: the 1-minute batches (time, interval, how many records), every minute from the first to the last`)
  t.same(ran.batches.map(b => [b.time, b.records.map(r => (r as Hit).id)]), ref.batches.map(([time, hits]) => [time, hits.map(h => h.id)]),
    `${what}: each record in the batch of its own minute, in the order it came`)
  t.same(ran.windows.map(b => [b.time, b.interval, b.records]), ref.windows.map(([time, count]) => [time, SLIDE, [count]]),
    `${what}: the count of every 10-minute window, every 5 minutes, late records and repeated guids left out`)
  t.same(ran.dead.map(d => d.record), ref.late.map(l => l.record), `${what}: the dead-letter file holds exactly the late records, in the order they came`)
  t.same(ran.dead.map(d => [d.operator, d.time]), ref.late.map(l => ['batch', l.batch]), `${what}: each set aside by batch, against its own batch`)
  t.ok(ran.dead.every(d => /later than the watermark/.test(d.reason)), `${what}: the reason says why`)
  t.match(ran.stderr, new RegExp(`^dstream batch: ${ref.late.length} inputs set aside in ${escape(`${dir}/state/dead-letter.ndjson`)}\\n$`), `${what}: stderr says how many were set aside`)
}

t.test('EXAMPLES 13: counts per 10-minute window sliding every 5, by event time, late records set aside', async t => {
  await checkJob(t, dayOfHits(13), 'a day of hits as logged')
})

t.test('EXAMPLES 13, the same log with its earliest record first', async t => {
  // the first-batch rule (a record older than the first one, before any batch was
  // emitted) aside, the same checks
  await checkJob(t, earliestFirst(dayOfHits(13)), 'earliest record first')
})

t.test('replaying a day of log lines at full speed gives the same windows as living through it', async t => {
  const log = dayOfHits(42)
  const text = ndjson(log)
  // pieces cut at byte offsets, not at line ends: a line is split across a pause
  const cuts = [0, Math.floor(text.length * 0.2) + 7, Math.floor(text.length * 0.45) + 3, Math.floor(text.length * 0.8), text.length]
  const files: Record<string, string> = { 'log.ndjson': text }
  for (let i = 0; i + 1 < cuts.length; i++) files[`part${i}`] = text.slice(cuts[i], cuts[i + 1])
  t.ok(!files.part0.endsWith('\n') && !files.part1.endsWith('\n'), 'pieces end in the middle of a line')
  const fast = t.testdir(files)
  const slowDir = path.join(fast, 'slow')
  fs.mkdirSync(slowDir)
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(slowDir, name), content)

  const started = Date.now()
  const [atOnce, slowly] = await Promise.all([
    runJob(fast, 'cat log.ndjson'),
    runJob(slowDir, '(cat part0; sleep 0.3; cat part1; sleep 0.3; cat part2; sleep 0.3; cat part3)')
  ])
  t.comment(`both runs in ${Date.now() - started} ms`)
  t.equal(atOnce.code, 0, `at once: exit 0 (stderr: ${atOnce.stderr.trim()})`)
  t.equal(slowly.code, 0, `slowly: exit 0 (stderr: ${slowly.stderr.trim()})`)
  t.ok(atOnce.windows.length > 250, `a day of windows (${atOnce.windows.length})`)
  t.equal(slowly.stdout, atOnce.stdout, 'the windows are byte-identical')
  t.equal(fs.readFileSync(path.join(slowDir, 'batches.ndjson'), 'utf8'), fs.readFileSync(path.join(fast, 'batches.ndjson'), 'utf8'), 'so are the 1-minute batches')
  t.same(slowly.dead, atOnce.dead, 'and the dead-letter files')
  t.ok(atOnce.dead.length > 0, 'with late records in them')
  t.equal(slowly.stderr, atOnce.stderr.replace(fast, slowDir), 'and what is said on stderr')
})

t.test('--event-time may give a date string: the same batches as with ms', async t => {
  const rnd = prng(7)
  const base = Date.UTC(2024, 4, 1, 10)
  const hits = Array.from({ length: 200 }, (_, id) => {
    const ts = base + id * 9_000 - Math.floor(rnd() * 4 * MINUTE)
    return { id, ts, when: new Date(ts).toISOString(), local: isoWithOffset(ts, 120) }
  })
  const dir = t.testdir({ 'log.ndjson': ndjson(hits) })
  const by = (fn: string) => sh(`dstream batch 1m --json --event-time '${fn}' --watermark 2m < log.ndjson | dstream map _.id`, { cwd: dir })
  const [ms, iso, offset, date] = await Promise.all([by('_.ts'), by('_.when'), by('_.local'), by('r => new Date(r.ts)')])
  for (const ran of [ms, iso, offset, date]) t.equal(ran.code, 0, `exit 0 (stderr: ${ran.stderr.trim()})`)
  const byMs = batchesOf(ms.stdout)
  t.ok(byMs.length > 25, `${byMs.length} batches`)
  t.ok(ms.stderr.includes('set aside'), 'some records are late: ' + ms.stderr)
  t.same(batchesOf(iso.stdout), byMs, 'ISO strings ("2024-05-01T10:00:30.000Z") batch as their ms')
  t.same(batchesOf(offset.stdout), byMs, 'so do strings with an offset ("2024-05-01T12:00:30.000+02:00")')
  t.same(batchesOf(date.stdout), byMs, 'and Date objects')
  t.equal(iso.stderr.replace(/\/tmp\/\S+/g, ''), ms.stderr.replace(/\/tmp\/\S+/g, ''), 'the same records set aside')
})

function isoWithOffset (ms: number, minutes: number): string {
  return new Date(ms + minutes * MINUTE).toISOString().replace('Z', `+${String(minutes / 60).padStart(2, '0')}:00`)
}

t.test('--event-time giving something that is not a time: exit 65 naming the record, or set aside with --on-bad-input skip', async t => {
  const lines = [
    { id: 1, when: '2024-05-01T10:00:30Z' },
    { id: 2, when: 'yesterday' },
    { id: 3, when: '2024-05-01T10:01:30Z' },
    { id: 4 },
    { id: 5, when: { at: 5 } },
    { id: 6, when: '2024-05-01T10:02:30Z' }
  ]
  const dir = t.testdir({ 'log.ndjson': ndjson(lines) })
  const failed = await sh('dstream batch 1m --json --event-time _.when < log.ndjson', { cwd: dir, env: { DSTREAM_STATE_DIR: path.join(dir, 'fail') } })
  t.equal(failed.code, 65, 'exit 65')
  t.match(failed.stderr, /^dstream batch: .*--event-time gave "yesterday", not a time.*\{"id":2,"when":"yesterday"\}/m, 'stderr names the record and what --event-time gave')
  t.notMatch(failed.stdout, /"id":3/, 'nothing after the bad record was batched')

  const skipped = await sh('dstream batch 1m --json --event-time _.when --on-bad-input skip < log.ndjson', { cwd: dir, env: { DSTREAM_STATE_DIR: path.join(dir, 'skip') } })
  t.equal(skipped.code, 0, `exit 0 (stderr: ${skipped.stderr.trim()})`)
  const t0 = Date.parse('2024-05-01T10:01:00Z')
  t.same(batchesOf(skipped.stdout).map(b => [b.time, b.records.map(r => (r as { id: number }).id)]), [[t0, [1]], [t0 + MINUTE, [3]], [t0 + 2 * MINUTE, [6]]], 'the good records are batched by their time')
  const dead = readDead(path.join(dir, 'skip', 'dead-letter.ndjson'))
  t.same(dead.map(d => d.record), [lines[1], lines[3], lines[4]], 'the records without a time are in the dead-letter file')
  t.ok(dead.every(d => d.operator === 'batch' && /--event-time gave .*not a time/.test(d.reason)), 'with the reason: ' + JSON.stringify(dead.map(d => d.reason)))
  t.match(skipped.stderr, /^dstream batch: 3 inputs set aside in .*dead-letter\.ndjson\n$/, 'stderr says how many')

  const usage = await sh('dstream batch 1m --json --watermark 10m < /dev/null')
  t.equal(usage.code, 2, '--watermark without --event-time: exit 2')
  t.match(usage.stderr, /--watermark needs --event-time/, 'and says why')
})

function readDead (file: string): Array<{ operator: string, reason: string, record: unknown, time: number }> {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) : []
}

t.test('a record older than the first one, before any batch was emitted, is not late', async t => {
  // the second record is 90 s older than the first, well within the 10-minute watermark,
  // and no batch has been emitted when it comes
  const dir = t.testdir()
  const ran = await sh(`printf '%s\\n' '{"ts":120000}' '{"ts":30000}' '{"ts":200000}' | dstream batch 1m --json --event-time _.ts --watermark 10m`, { env: { DSTREAM_STATE_DIR: dir } })
  t.equal(ran.code, 0, `exit 0 (stderr: ${ran.stderr.trim()})`)
  const batches: Chunk[] = batchesOf(ran.stdout)
  t.same(batches.map(b => [b.time, b.records]), [[60_000, [{ ts: 30_000 }]], [120_000, []], [180_000, [{ ts: 120_000 }]], [240_000, [{ ts: 200_000 }]]],
    'the first batch is that of the earliest record, 60000')
  t.same(readDead(path.join(dir, 'dead-letter.ndjson')).map(d => d.reason), [], 'nothing is set aside (the record is 90 s older than the newest, the watermark allows 10 minutes)')
  t.equal(ran.stderr, '', 'nothing said')
})
