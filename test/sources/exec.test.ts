import t from 'tap'
import { parseOutput, sh } from '../helpers.js'
import { consecutive, live, sleep } from './live.js'

t.test('cases', async t => {
  const ran = await sh("dstream exec --restart never --interval 200ms -- printf 'a\\nb b\\nc'")
  t.equal(ran.code, 0, `--restart never: exit 0 with the command ${ran.stderr}`)
  t.same(parseOutput(ran.stdout).batches.flatMap(b => b.records), ['a', 'b b', 'c'], "the command's stdout lines, the partial last one too")
  t.equal(ran.stderr, '', 'nothing said')

  const json = await sh(`dstream exec --restart never --json --interval 1d -- printf '{"n":1}\\n[2]\\n'`)
  t.same(parseOutput(json.stdout).batches.map(b => b.records), [[{ n: 1 }, [2]]], '--json; the batch is closed when the command ends')

  const stderr = await sh("dstream exec --restart never -- sh -c 'echo out; echo to-stderr >&2'")
  t.equal(stderr.stderr, 'to-stderr\n', "the command's stderr is ours")
})

t.test('restarting', async t => {
  const ran = live(['exec', '--interval', '200ms', '--', 'printf', 'x\\n'])
  await sleep(1800)
  t.ok(ran.running(), 'runs on when the command exits')
  const exited = await ran.stop('SIGTERM')
  t.equal(exited.code, 0, 'SIGTERM: exit 0')
  const restarts = exited.stderr.split('\n').filter(Boolean)
  t.ok(restarts.length >= 3, `restarted several times (${restarts.length})`)
  t.same(restarts.slice(0, 3), [100, 200, 400].map(ms => `dstream exec: printf 'x\\n' exited with status 0; restarting in ${ms}ms`), 'each said, with the status and a growing wait')
  t.ok(exited.records.length >= restarts.length && exited.records.every(r => r === 'x'), `the lines of every run (${exited.records.length})`)
  t.ok(consecutive(exited.batches, 200), 'batches every interval, in between too')

  const missing = live(['exec', '--interval', '200ms', '--', 'no-such-command-dstream'])
  await missing.waitFor(/retrying|restarting in 200ms/)
  const gone = await missing.stop()
  t.equal(gone.code, 0, 'a command that cannot start is retried; SIGTERM: exit 0')
  t.match(gone.stderr, /^dstream exec: cannot start no-such-command-dstream \(ENOENT\); restarting in 100ms\n/, 'and said')
})

t.test('stopping', async t => {
  const ran = live(['exec', '--interval', '5s', '--', 'sh', '-c', 'echo a; echo partial | tr -d "\\n"; sleep 29.7'])
  await sleep(800)
  const started = Date.now()
  const exited = await ran.stop('SIGTERM')
  t.equal(exited.code, 0, `SIGTERM: exit 0 ${exited.stderr}`)
  t.ok(Date.now() - started < 2500, 'the command (and its sleep) was killed, not waited for')
  t.same(exited.records, ['a', 'partial'], 'its lines are in the closed batch')
  t.equal(exited.stderr, '', 'a stop is not a failure')
  const left = await sh("pgrep -f 'sleep 29[.]7' || true")
  t.equal(left.stdout, '', 'no process left behind')
})

t.test('failures', async t => {
  const failed = await sh("dstream exec --restart never --interval 1d -- sh -c 'echo out; exit 3'")
  t.equal(failed.code, 1, 'a command that fails with --restart never: exit 1')
  t.equal(failed.stderr, "dstream exec: sh -c 'echo out; exit 3' exited with status 3\n", 'naming the command and its status')
  t.same(parseOutput(failed.stdout).batches.map(b => b.records), [['out']], 'the batch is closed first')

  const killed = await sh("dstream exec --restart never -- sh -c 'kill -9 $$'")
  t.equal(killed.code, 1, 'killed by a signal: exit 1')
  t.match(killed.stderr, /was killed by SIGKILL/, 'says which')

  const missing = await sh('dstream exec --restart never -- no-such-command-dstream')
  t.equal(missing.code, 1, 'a command that cannot start: exit 1')
  t.equal(missing.stderr, 'dstream exec: cannot start no-such-command-dstream (ENOENT)\n', 'says so')

  const bad = await sh(`dstream exec --restart never --json -- printf '1\\nnope\\n'`)
  t.equal(bad.code, 65, 'a bad JSON line: exit 65')
  t.match(bad.stderr, /^dstream exec: .*not JSON.*"nope"/, 'naming the operator and the line')
})

t.test('usage errors', async t => {
  for (const args of ['', '--restart sometimes -- true', '--interval x -- true']) {
    const ran = await sh(`dstream exec ${args}`)
    t.equal(ran.code, 2, `exec ${args}: exit 2`)
    t.match(ran.stderr, /^dstream exec: [^]*\nUsage: dstream exec -- CMD\.\.\./, `exec ${args}: the reason and the usage`)
  }
})
