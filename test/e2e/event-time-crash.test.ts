// SPEC §4 "restart resumes" for the event-time operators: a pipeline killed with
// SIGKILL at random moments (seeded) and started again ends with the files of a run
// that was never interrupted, byte for byte.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { appendWhileRunning, compareSaved, crashedAndWhole, keep, random, seedFromEnv, timedRecords } from '../crash.js'
import { freshDir } from '../helpers.js'

const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)


t.test('aggregate-by-window, update then append mode: kill -9 and restart give the uninterrupted output', async t => {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const lines = timedRecords(random(seed ^ 0xa99), 3000)
  // the source batches by event time (so batches are the same in every run); the
  // operator's own time puts records up to 6 s back against its 1 s watermark, so
  // some are late (set aside), some update old windows
  const stages = (once: boolean) => [
    ['tail', 'input.log', '--from', 'start', '--json', '--event-time', '_.ts', '--watermark', '1s', '--interval', '1s', ...(once ? ['--once'] : [])],
    ['aggregate-by-window', 'count', '--event-time', '_.ts - (_.id % 7) * 1000', '--key', '_.words[0]', '--length', '3s', '--slide', '1s', '--watermark', '1s', '--output-mode', 'update'],
    ['save', 'out/update', '--pass'],
    ['aggregate-by-window', 'sum', '--event-time', '_.window.start', '--key', '_.key', '--value', '_.value', '--length', '10s', '--watermark', '5s', '--output-mode', 'append'],
    ['save', 'out/append']
  ]

  const { crashed, whole, kills } = await crashedAndWhole(t, seed, KILLS, lines, stages, 25)

  const saved = compareSaved(path.join(whole, 'out'), path.join(crashed, 'out'))
  if (saved.differing.length > 0 || saved.got.length !== saved.expected.length) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`)
  const appended = saved.expected.filter(f => f.startsWith('append-'))
  t.ok(saved.expected.length > 100, `the uninterrupted run saved ${saved.expected.length} files`)
  t.ok(appended.some(f => fs.readFileSync(path.join(whole, 'out', f), 'utf8').length > 0), 'append mode emitted windows')
  t.same(saved.got, saved.expected, `seed ${seed}: the same files`)
  t.same(saved.differing, [], `seed ${seed}: every file byte for byte (${kills.length} kills: ${kills.map(k => k.command).join(', ')})`)
  // the operator's late records: the same ones (a batch replayed after a kill may set one aside again)
  const late = (dir: string) => [...new Set(fs.readFileSync(path.join(dir, 'state', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
    .filter(d => d.operator === 'aggregate-by-window').map(d => JSON.stringify(d.record)))].sort()
  t.ok(late(whole).length > 0, `some records were later than the operator's watermark (${late(whole).length})`)
  t.same(late(crashed), late(whole), 'the same records set aside')
})

t.test('interval-join, left outer, two tail sources: kill -9 of the join or the sink and restart give the uninterrupted output', async t => {
  // the join's --with stream is a process substitution, which crashRuns' linear
  // pipelines cannot say: this test runs its own script, with the same seeded kills
  const { spawn } = await import('node:child_process')
  const { userEnv } = await import('../helpers.js')
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
  const next = random(seed ^ 0x10e7)
  // impressions every ~40 ms of event time with up to 0.4 s of disorder (every 97th
  // 5 s late, for the sources); about 60% get a click 0 to 7 s later (a bound of 5 s:
  // some miss), on 25 ads, so keys match many to many. The join's --event-time puts
  // every 13th impression 3 s back, later than its 2 s watermark
  const start = 1_700_000_000_000
  const imps: Array<{ id: number, ad: string, ts: number }> = [{ id: -1, ad: 'ad0', ts: start }]
  const clicks: Array<{ id: number, ad: string, ts: number }> = [{ id: -1, ad: 'ad0', ts: start }]
  for (let id = 0; id < 2500; id++) {
    const ts = start + id * 40 + Math.round(next() * 400) - (id % 97 === 96 ? 5000 : 0)
    const ad = `ad${Math.floor(next() * 25)}`
    imps.push({ id, ad, ts })
    if (next() < 0.6) clicks.push({ id, ad, ts: ts + Math.round(next() * 7000) })
  }
  clicks.sort((a, b) => a.ts - b.ts)
  const lines = (events: unknown[]) => events.map(e => JSON.stringify(e))

  const script = (dir: string, once: boolean) => {
    const source = (file: string) => `dstream tail ${file} --from start --json --event-time _.ts --watermark 1s --interval 1s${once ? ' --once' : ''} | dstream map '[_.ad, _]'`
    const pid = (name: string) => `bash -c 'echo $$ > pids/${name}; exec "$@"' _`
    return [
      'unset NODE_OPTIONS',
      `cd '${dir}' && mkdir -p pids && rm -f pids/*`,
      `export DSTREAM_STATE_DIR='${dir}/state'`,
      `${source('imps.log')} | ${pid('join')} dstream interval-join --with <(${source('clicks.log')}) --event-time '_.ts - (_.id % 13 === 12 ? 3000 : 0)' --with-event-time _.ts --upper 5s --watermark 2s --with-watermark 2s --type left-outer | ${pid('save')} dstream save out/j`,
      'echo "${PIPESTATUS[*]}" > pids/status'
    ].join('\n')
  }
  /** One run; `kill`: SIGKILL that process (join or save) that long after the start. */
  const run = async (dir: string, once: boolean, kill?: { stage: string, afterMs: number }): Promise<{ statuses: string, stderr: string }> => {
    const child = spawn('bash', ['-c', script(dir, once)], { stdio: ['ignore', 'ignore', 'pipe'], env: userEnv() })
    let stderr = ''
    child.stderr.on('data', d => { stderr += d })
    const closed = new Promise<void>(resolve => child.on('close', () => resolve()))
    let timer: NodeJS.Timeout | undefined
    if (kill) {
      await Promise.race([closed, new Promise(resolve => { timer = setTimeout(resolve, kill.afterMs) })])
      clearTimeout(timer)
      try { process.kill(Number(fs.readFileSync(path.join(dir, 'pids', kill.stage), 'utf8')), 'SIGKILL') } catch { /* not started, or gone */ }
    }
    const ended = await Promise.race([closed.then(() => true), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), 30_000) })])
    clearTimeout(timer)
    if (!ended) child.kill('SIGKILL')
    // the --with side's commands, outside the pipeline bash waits for, go at their next write
    await new Promise(resolve => setTimeout(resolve, 1200))
    const status = path.join(dir, 'pids', 'status')
    return { statuses: fs.existsSync(status) ? fs.readFileSync(status, 'utf8').trim() : `did not end\n${stderr}`, stderr }
  }

  const crashed = freshDir()
  const impWriter = appendWhileRunning(path.join(crashed, 'imps.log'), lines(imps), 40, 20)
  const clickWriter = appendWhileRunning(path.join(crashed, 'clicks.log'), lines(clicks), 40, 12)
  const kills: string[] = []
  for (let i = 1; i <= Math.min(KILLS, 5); i++) {
    // kills of the join or the sink; a --with stream's source killed between batches
    // would look like a stream that ended (see the report of the merge of --with streams)
    const stage = next() < 0.6 ? 'join' : 'save'
    const afterMs = Math.round(400 + next() * 2000)
    t.comment(`seed ${seed}: run ${i}: kill -9 dstream ${stage === 'join' ? 'interval-join' : 'save'} ${afterMs} ms after the start`)
    const ran = await run(crashed, false, { stage, afterMs })
    fs.appendFileSync(path.join(crashed, 'stderr.log'), `--- run ${i}: killed ${stage} after ${afterMs} ms; statuses ${ran.statuses}\n${ran.stderr}`)
    kills.push(stage)
  }
  impWriter.stop()
  clickWriter.stop()
  const last = await run(crashed, true)
  t.equal(last.statuses, '0 0 0 0', `the last run ends cleanly\n${last.stderr}`)

  const whole = freshDir()
  fs.writeFileSync(path.join(whole, 'imps.log'), lines(imps).map(l => l + '\n').join(''))
  fs.writeFileSync(path.join(whole, 'clicks.log'), lines(clicks).map(l => l + '\n').join(''))
  const reference = await run(whole, true)
  t.equal(reference.statuses, '0 0 0 0', reference.stderr)

  const saved = compareSaved(path.join(whole, 'out'), path.join(crashed, 'out'))
  if (saved.differing.length > 0 || saved.got.length !== saved.expected.length) t.comment(`the runs are kept in ${keep(seed, { crashed, whole })}`)
  const records = saved.expected.flatMap(f => fs.readFileSync(path.join(whole, 'out', f), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)))
  t.ok(saved.expected.length > 80, `the uninterrupted run saved ${saved.expected.length} files`)
  t.ok(records.some(([, [, click]]) => click === null) && records.some(([, [, click]]) => click !== null), `pairs and nulls came out (${records.length} records)`)
  t.same(saved.got, saved.expected, `seed ${seed}: the same files`)
  t.same(saved.differing, [], `seed ${seed}: every file byte for byte (${kills.length} kills: ${kills.join(', ')})`)
  const late = (dir: string) => [...new Set(fs.readFileSync(path.join(dir, 'state', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
    .filter(d => d.operator === 'interval-join').map(d => JSON.stringify(d.record)))].sort()
  t.ok(late(whole).length > 0, `some records were later than the join's watermark (${late(whole).length})`)
  t.same(late(crashed), late(whole), 'the same records set aside')
})
