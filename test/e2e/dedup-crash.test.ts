// SPEC §4 "restart resumes", for drop-duplicates by event time: a pipeline reading a
// file with tail, dropping repeated guids within a watermark and saving each batch,
// killed with SIGKILL at random moments (any of its processes) and started again each
// time, ends with the files of a run that was never interrupted, byte for byte, and with
// the same records set aside as late. The source batches by the time a record came in
// (`at`, in order), drop-duplicates judges it by its own time (`ts`, out of order), so
// that some records are later than drop-duplicates' watermark.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { compareSaved, crashedAndWhole, keep, random, seedFromEnv } from '../crash.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 8)

/**
 * Records that come in every 25 ms (`at`); their own time `ts` is up to 0.8 s earlier
 * for most, up to 2.5 s for some, 3 to 8 s for a few (most of those later than a 2 s
 * watermark). One in eight repeats an earlier guid: half from a few lines back (a
 * repeat), half from 4 to 10 s back (forgotten by then, so kept again).
 */
function records (next: () => number, count: number): string[] {
  const start = 1_700_000_000_000
  const guids: string[] = []
  return Array.from({ length: count }, (_, i) => {
    const at = start + i * 25
    const r = next()
    const disorder = r < 0.85 ? next() * 800 : r < 0.95 ? 800 + next() * 1700 : 3000 + next() * 5000
    let guid = `g${i}`
    const repeat = next()
    if (i > 400 && repeat < 0.06) guid = guids[i - 1 - Math.floor(next() * 10)]
    else if (i > 400 && repeat < 0.12) guid = guids[i - 160 - Math.floor(next() * 240)]
    guids.push(guid)
    return JSON.stringify({ id: i, guid, at, ts: Math.round(at - disorder) })
  })
}


/** The ids of the records in the saved files of `out`, and of those set aside as late. */
function outcome (dir: string): { kept: number[], late: number[], lateLines: number } {
  const out = path.join(dir, 'out')
  const kept = fs.readdirSync(out).filter(f => !f.startsWith('.')).flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l).id as number))
  const dead = path.join(dir, 'state', 'dead-letter.ndjson')
  const entries = fs.existsSync(dead) ? fs.readFileSync(dead, 'utf8').trim().split('\n').map(l => JSON.parse(l)) : []
  const late = entries.filter(e => e.operator === 'drop-duplicates' && /later than the watermark/.test(e.reason)).map(e => e.record.id as number)
  return { kept, late: [...new Set(late)].sort((a, b) => a - b), lateLines: late.length }
}

t.test('drop-duplicates by event time: kill -9 and restart give the same files', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const lines = records(random(seed ^ 0xd0d), 3000)
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--json', '--event-time', '_.at', '--interval', '1s', ...(once ? ['--once'] : [])],
    ['drop-duplicates', '_.guid', '--event-time', '_.ts', '--watermark', '2s'],
    ['save', 'out/d']
  ]

  const { crashed, whole, kills } = await crashedAndWhole(t, seed, KILLS, lines, stages)

  // the uninterrupted run did drop repeats, keep forgotten guids again and set late records aside
  const expected = outcome(whole)
  const guidOf = new Map(lines.map(l => JSON.parse(l)).map(r => [r.id as number, r.guid as string]))
  const keptGuids = expected.kept.map(id => guidOf.get(id)!)
  t.ok(expected.kept.length + expected.late.length < lines.length, `repeats were dropped (${lines.length - expected.kept.length - expected.late.length})`)
  t.ok(new Set(keptGuids).size < keptGuids.length, 'some guids were kept again once forgotten')
  t.ok(expected.late.length > 20, `records later than the watermark were set aside (${expected.late.length})`)

  const saved = compareSaved(path.join(whole, 'out'), path.join(crashed, 'out'))
  if (saved.differing.length > 0 || saved.got.length !== saved.expected.length) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`)
  t.ok(saved.expected.length > 50, `the uninterrupted run saved ${saved.expected.length} files`)
  t.same(saved.got, saved.expected, `seed ${seed}: the same files`)
  t.same(saved.differing, [], `seed ${seed}: every file byte for byte (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  const got = outcome(crashed)
  t.same(got.late, expected.late, `seed ${seed}: the same records set aside as late`)
  if (got.lateLines > got.late.length) t.comment(`${got.lateLines - got.late.length} late records were set aside again when their batch was replayed`)
})
