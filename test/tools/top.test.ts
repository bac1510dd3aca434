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
  const bad = await sh('dstream top --every soon')
  t.equal(bad.code, 2, 'a bad --every: exit 2')
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
  for (let i = 0; i < 40 && !/count-by-value/.test(screen); i++) {
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
