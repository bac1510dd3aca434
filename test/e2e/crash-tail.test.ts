// SPEC §4 "restart resumes", with tail: a pipeline killed with SIGKILL at random
// moments (any of its processes) and started again each time ends with the output
// of a run that was never interrupted. By event time the saved files are byte for
// byte those of an uninterrupted run; by processing time (batches fall where the
// clock puts them) the per-batch counts add up to the input's and the final
// running counts equal it: nothing lost, nothing counted twice.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { COUNTING, WINDOWED_STATE, appendWhileRunning, compareSaved, crashRuns, crashedAndWhole, keep, random, runPipeline, savedCounts, seedFromEnv, sentence, sortedEntries, timedRecords, wordCounts } from '../crash.js'
import { freshDir } from '../helpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 10)


t.test('by event time: the saved files are byte-identical to an uninterrupted run', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0x5eed)
  const lines = timedRecords(next, 4000)
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--json', '--event-time', '_.ts', '--watermark', '1s', '--interval', '1s', ...(once ? ['--once'] : [])],
    ['flat-map', '_.words'],
    ['map', '[_, 1]'],
    ...WINDOWED_STATE
  ]

  const { crashed, whole, kills } = await crashedAndWhole(t, seed, KILLS, lines, stages)

  const saved = compareSaved(path.join(whole, 'out'), path.join(crashed, 'out'))
  if (saved.differing.length > 0 || saved.got.length !== saved.expected.length) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`)
  t.ok(saved.expected.length > 50, `the uninterrupted run saved ${saved.expected.length} files`)
  t.same(saved.got, saved.expected, `seed ${seed}: the same files`)
  t.same(saved.differing, [], `seed ${seed}: every file byte for byte (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  t.same(fs.readdirSync(path.join(crashed, 'out')).filter(f => f.startsWith('.')), [], 'no temporary file is left behind once the last run ends')
  const lateIn = (dir: string) => fs.readFileSync(path.join(dir, 'state', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l).record.ts).sort()
  t.same(lateIn(crashed), lateIn(whole), 'the late records are set aside once each')
})

t.test('by processing time: the counts add up, nothing lost, nothing twice', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0xc0de)
  const lines = Array.from({ length: 6000 }, () => sentence(next).join(' '))
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--interval', '200ms', ...(once ? ['--once'] : [])],
    ['flat-map', '_.split(" ")'],
    ['map', '[_, 1]'],
    ...COUNTING
  ]
  const dir = freshDir()
  const input = appendWhileRunning(path.join(dir, 'input.log'), lines, 40, 25)
  await crashRuns(dir, seed, KILLS, stages(false), { minMs: 300, maxMs: 2500, log: text => t.comment(text) })
  input.stop()
  const last = await runPipeline(dir, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  const totals = wordCounts(lines)
  t.same(sortedEntries(savedCounts(path.join(dir, 'out'), 'counts').summed), sortedEntries(totals), `seed ${seed}: the per-batch counts of all files add up to the input's`)
  t.same(sortedEntries(savedCounts(path.join(dir, 'out'), 'running').last), sortedEntries(totals), `seed ${seed}: the final running counts equal the input's`)
})
