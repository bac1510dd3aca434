// dstream top: the metrics files every stage writes, shown per stage in pipeline order;
// a snapshot with --once; "behind" when the processing time stays over the interval;
// live in a real terminal (tmux runs it beside a pipeline, capture-pane reads it).
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { freshDir, sh } from '../helpers.js'
import { sleep } from '../sources/live.js'

const ESC = /\x1b\[/

t.test('--once: every stage in pipeline order, plain text', async t => {
  const dir = freshDir()
  fs.writeFileSync(`${dir}/words`, 'to be or not to be\n'.repeat(50))
  const state = path.join(dir, 'state')
  // three processes and a fused chain of two: the order is read from the data
  const ran = await sh(`dstream batch 100ms < ${dir}/words | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' then reduce-by-key sum | dstream update-state-by-key '(vs, s = 0) => s + vs.length' > /dev/null`, { env: { DSTREAM_STATE_DIR: state } })
  t.equal(ran.code, 0, ran.stderr)
  t.ok(fs.readdirSync(path.join(state, 'metrics')).length === 5, 'a metrics file per stage, in DIR/metrics')
  const top = await sh(`dstream top --once --state-dir ${state}`)
  t.equal(top.code, 0, top.stderr)
  t.notMatch(top.stdout, ESC, 'no escape codes without a terminal')
  const lines = top.stdout.trim().split('\n')
  t.match(lines[0], /^STAGE\s+PID\s+BATCHES\s+IN\/S\s+PROC LAST\s+P50\s+P99\s+SCHED\s+TOTAL\s+KEYS\s+LAG\s+STATUS$/, 'the columns')
  t.same(lines.slice(1).map(l => l.split(/\s+/)[0]), ['batch', 'flat-map', 'map', 'reduce-by-key', 'update-state-by-key'], 'one row per stage, in pipeline order')
  t.ok(lines.slice(1).every(l => /\bended$/.test(l)), 'the pipeline has ended: so have its stages')
  t.match(lines[5], /\s4\s+-\s+ended$/, 'the keys the stateful operator holds (to, be, or, not)')

  const none = await sh(`dstream top --once --state-dir ${freshDir()}`)
  t.equal(none.code, 0)
  t.match(none.stdout, /no metrics in .*metrics: no pipeline has run with this state directory/, 'an empty state directory says so')
  const off = freshDir()
  await sh(`echo a | dstream batch 100ms | dstream count > /dev/null`, { env: { DSTREAM_STATE_DIR: off, DSTREAM_METRICS: '0' } })
  t.notOk(fs.existsSync(path.join(off, 'metrics')), 'DSTREAM_METRICS=0: no metrics written')
  const few = freshDir()
  await sh(`for i in $(seq 1 40); do echo $i; sleep 0.01; done | dstream batch 5ms --state-dir ${few} > /dev/null`, { env: { DSTREAM_METRICS: '3' } })
  const [kept] = fs.readdirSync(path.join(few, 'metrics'))
  const keptLines = fs.readFileSync(path.join(few, 'metrics', kept), 'utf8').trim().split('\n')
  t.ok(keptLines.length >= 2 && keptLines.length <= 1 + 2 * 3, `DSTREAM_METRICS=3: the file keeps the last batches (${keptLines.length - 1} lines)`)
  const wrong = await sh('echo a | dstream batch 100ms', { env: { DSTREAM_METRICS: 'many' } })
  t.equal(wrong.code, 2, 'DSTREAM_METRICS not a number: exit 2')
  t.match(wrong.stderr, /dstream batch: DSTREAM_METRICS must be the number of batches to keep/)
  const bad = await sh('dstream top --every soon')
  t.equal(bad.code, 2, 'a bad --every: exit 2')
})

t.test('sources say how far behind they are: tail in bytes, watch in files', async t => {
  const dir = freshDir()
  const lags = (state: string, source: string) => {
    const metrics = path.join(state, 'metrics')
    const file = fs.readdirSync(metrics).find(f => f.startsWith(`${source}-`))!
    return fs.readFileSync(path.join(metrics, file), 'utf8').trim().split('\n').slice(1).map(l => JSON.parse(l).lag)
  }
  // 16 MB read in batches of 10 ms: the first batches leave most of it behind
  fs.writeFileSync(`${dir}/big.log`, 'a line of the log, long enough\n'.repeat(500_000))
  const size = fs.statSync(`${dir}/big.log`).size
  const tail = await sh(`dstream tail ${dir}/big.log --from start --once --interval 10ms --state-dir ${dir}/tail > /dev/null`)
  t.equal(tail.code, 0, tail.stderr)
  const bytes = lags(`${dir}/tail`, 'tail').map(l => l.bytes)
  t.ok(bytes.every(b => Number.isInteger(b) && b >= 0 && b <= size), `tail: bytes behind, at most the file's ${size}: ${bytes.join(' ')}`)
  t.ok(bytes.some(b => b > 0), 'behind while it reads')
  t.equal(bytes.at(-1), 0, 'none left after the last batch')

  fs.mkdirSync(`${dir}/in`)
  for (let i = 0; i < 12; i++) fs.writeFileSync(`${dir}/in/part-${String(i).padStart(2, '0')}`, 'a line of a file\n'.repeat(100_000))
  const watch = await sh(`dstream watch ${dir}/in --once --interval 10ms --state-dir ${dir}/watch > /dev/null`)
  t.equal(watch.code, 0, watch.stderr)
  const files = lags(`${dir}/watch`, 'watch').map(l => l.files)
  t.ok(files.every(f => Number.isInteger(f) && f >= 0 && f <= 12), `watch: files behind, of the 12: ${files.join(' ')}`)
  t.ok(files.some(f => f > 0), 'behind while it reads')
  t.equal(files.at(-1), 0, 'none left after the last batch')
  const top = await sh(`dstream top --once --state-dir ${dir}/watch`)
  t.match(top.stdout, /^watch\s.*\s0 files\s+ended$/m, 'top shows the lag')
})

t.test('a stage whose processing time stays over the interval is behind', async t => {
  const state = freshDir()
  // a map that takes 250 ms a batch of 100 ms, fed for about three seconds
  const slow = `'x => { const t = Date.now(); while (Date.now() - t < 250); return x }'`
  const pipeline = sh(`for i in $(seq 1 30); do echo x; sleep 0.1; done | dstream batch 100ms | dstream glom | dstream map ${slow} > /dev/null`, { env: { DSTREAM_STATE_DIR: state }, timeout: 60_000 })
  let snapshot = ''
  for (let i = 0; i < 40 && !/\bbehind\b/.test(snapshot); i++) {
    await sleep(250)
    snapshot = (await sh(`dstream top --once --state-dir ${state}`)).stdout
  }
  t.match(snapshot, /^map\s.*\sbehind$/m, 'the slow map is behind')
  t.match(snapshot, /^batch\s.*\sok$/m, 'the source is not')
  await pipeline
})

t.test('live in a real terminal (tmux), beside a running pipeline; q quits and gives the screen back', async t => {
  if (spawnSync('tmux', ['-V']).status !== 0) {
    if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail('no tmux')
    else t.skip('skipped: no tmux', () => {})
    return
  }
  const state = freshDir()
  const session = `dstream-top-${process.pid}`
  const pipeline = sh(`for i in $(seq 1 60); do echo a b c; sleep 0.1; done | dstream batch 200ms | dstream flat-map '_.split(" ")' | dstream count-by-value > /dev/null`, { env: { DSTREAM_STATE_DIR: state }, timeout: 60_000 })
  const env = `unset NODE_OPTIONS NO_COLOR; export PATH=${path.resolve('bin')}:$PATH TERM=xterm-256color`
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '20', `${env}; echo before > /dev/null; dstream top --state-dir ${state}; echo top-exited; sleep 30`])
  t.teardown(() => { spawnSync('tmux', ['kill-session', '-t', session]) })
  const pane = (colour = false) => execFileSync('tmux', ['capture-pane', '-p', ...colour ? ['-e'] : [], '-t', session]).toString()
  let screen = ''
  // every stage's row: the three processes start side by side, in any order
  for (let i = 0; i < 40 && !(/count-by-value/.test(screen) && /^batch\s/m.test(screen)); i++) {
    await sleep(250)
    screen = pane()
  }
  t.match(screen, /STAGE\s+PID\s+BATCHES/, 'the table on the screen')
  t.match(screen, /^batch\s.*\sok\s*$/m, 'the source, running')
  t.match(screen, /^count-by-value\s.*\sok\s*$/m, 'the last stage, running')
  t.match(screen, /q or Ctrl-C quits/)
  const before = (screen.match(/^batch\s+\S+\s+\d+\s+(\d+)/m) ?? [])[1]
  await sleep(1500)
  const after = (pane().match(/^batch\s+\S+\s+\d+\s+(\d+)/m) ?? [])[1]
  t.not(after, undefined, 'redrawn')
  t.match(pane(true), /\x1b\[/, 'in colour, in a terminal')
  execFileSync('tmux', ['send-keys', '-t', session, 'q'])
  let gone = ''
  for (let i = 0; i < 20 && !/top-exited/.test(gone); i++) {
    await sleep(200)
    gone = pane()
  }
  t.match(gone, /top-exited/, 'q quits')
  t.notMatch(gone, /STAGE\s+PID/, 'and the screen is given back (the alternate screen left)')
  t.ok(before !== undefined)
  await pipeline
})
