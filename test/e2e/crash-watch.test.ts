// SPEC §4 "restart resumes", with watch (Spark's textFileStream): files moved into a
// directory while the pipeline is killed at random moments and started again are
// each counted once: the per-batch counts add up to the input's, the final running
// counts equal it.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { COUNTING, crashRuns, random, runPipeline, savedCounts, seedFromEnv, sentence, sortedEntries, wordCounts } from '../crash.js'
import { freshDir } from '../helpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 8)

t.test('by processing time: every file counted once, whatever is killed', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0xf11e)
  const files = Array.from({ length: 300 }, () => Array.from({ length: 1 + Math.floor(next() * 30) }, () => sentence(next).join(' ')))
  const dir = freshDir()
  fs.mkdirSync(path.join(dir, 'in'))
  // files written elsewhere and moved in, a few every 50 ms, while the runs go on
  let moved = 0
  const move = (n: number) => {
    for (; n > 0 && moved < files.length; n--, moved++) {
      const staging = path.join(dir, `f${moved}.tmp`)
      fs.writeFileSync(staging, files[moved].map(l => l + '\n').join(''))
      fs.renameSync(staging, path.join(dir, 'in', `f${String(moved).padStart(4, '0')}.txt`))
    }
  }
  const timer = setInterval(() => move(2), 50)
  const stages = (once: boolean) => [
    ['watch', 'in', '--interval', '200ms', ...(once ? ['--once'] : [])],
    ['flat-map', '_.split(" ")'],
    ['map', '[_, 1]'],
    ...COUNTING
  ]
  try {
    await crashRuns(dir, seed, KILLS, stages(false), { minMs: 300, maxMs: 2500, log: text => t.comment(text) })
  } finally {
    clearInterval(timer)
  }
  move(files.length)
  const last = await runPipeline(dir, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  const totals = wordCounts(files.flat())
  const { summed } = savedCounts(path.join(dir, 'out'), 'counts')
  t.same(sortedEntries(summed), sortedEntries(totals), `seed ${seed}: the per-batch counts add up to the input's`)
  t.same(sortedEntries(savedCounts(path.join(dir, 'out'), 'running').last), sortedEntries(totals), `seed ${seed}: the final running counts equal the input's`)
})
