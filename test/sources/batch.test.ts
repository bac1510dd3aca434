import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseOutput, sh } from '../helpers.js'
import { consecutive, live, sleep } from './live.js'

const recordsOf = (stdout: string) => parseOutput(stdout).batches.flatMap(b => b.records)

t.test('cases', async t => {
  // the first sleep lets node start, so that the lines arrive while it reads
  const ran = await sh('(sleep 1; echo a; sleep 0.5; echo b; echo c; sleep 0.5; echo d) | dstream batch 200ms')
  t.equal(ran.code, 0, ran.stderr)
  const { batches } = parseOutput(ran.stdout)
  t.same(batches.flatMap(b => b.records), ['a', 'b', 'c', 'd'], 'every line, in order, across batches')
  const holding = (r: string) => batches.findIndex(b => b.records.includes(r))
  t.ok(holding('a') < holding('b') && holding('b') === holding('c') && holding('c') < holding('d'), 'each in the batch of its arrival')
  t.ok(consecutive(batches, 200), 'times aligned to the interval, one interval apart: every interval a batch')

  const json = await sh(`printf '{"a":1}\\n[2]\\n"s"\\n' | dstream batch 1d --json`)
  t.equal(json.code, 0, json.stderr)
  t.same(recordsOf(json.stdout), [{ a: 1 }, [2], 's'], '--json: each line parsed')
})

t.test('edge cases', async t => {
  const idle = await sh('sleep 1 | dstream batch 200ms')
  t.equal(idle.code, 0, idle.stderr)
  const { batches } = parseOutput(idle.stdout)
  t.ok(batches.length >= 3, `an idle stdin gives batches (${batches.length})`)
  t.ok(batches.every(b => b.records.length === 0), 'empty ones')
  t.ok(consecutive(batches, 200), 'one every interval')

  const started = Date.now()
  const eof = await sh("printf 'a\\nb\\n' | dstream batch 1d")
  t.equal(eof.code, 0, 'end of stdin: exit 0')
  t.same(parseOutput(eof.stdout).batches.map(b => b.records), [['a', 'b']], 'the open batch is closed at once')
  t.ok(Date.now() - started < 5000, 'without waiting for the interval to end')
  t.equal(parseOutput(eof.stdout).batches[0].time % 86_400_000, 0, 'its time is aligned')

  const chunked = await sh("seq 1 5 | dstream batch 1d --chunk 2")
  const { chunks, batches: whole } = parseOutput(chunked.stdout)
  t.same(chunks.map(c => [c.records, c.more === true]), [[['1', '2'], true], [['3', '4'], true], [['5'], false]], '--chunk 2: chunks of at most 2, "more" on all but the last')
  t.same(whole.map(b => b.records), [['1', '2', '3', '4', '5']], 'one batch')

  const empty = await sh('dstream batch 1d < /dev/null')
  t.same(parseOutput(empty.stdout).batches.map(b => b.records), [[]], 'empty input: one empty batch')
})

t.test('stopping', async t => {
  const running = live(['batch', '5s'], { stdin: 'pipe' })
  running.child.stdin!.write('a\nb\n')
  await sleep(700)
  t.ok(running.running(), 'runs while stdin is open')
  const exited = await running.stop('SIGTERM')
  t.equal(exited.code, 0, `SIGTERM: exit 0 ${exited.stderr}`)
  t.same(exited.records, ['a', 'b'], 'the open batch is closed with what came')
  t.ok(exited.batches.length >= 1 && consecutive(exited.batches, 5000), 'at its aligned time')
  t.notOk(exited.chunks.at(-1)!.more, 'the last chunk closes its batch')
})

t.test('bad input', async t => {
  const bad = await sh(`printf '{"a":1}\\nnot json\\n' | dstream batch 1d --json`)
  t.equal(bad.code, 65, 'a line that is not JSON: exit 65')
  t.match(bad.stderr, /^dstream batch: .*not JSON.*: "not json"\n/, 'names the operator and the line')

  const dir = t.testdir()
  const deadLetter = path.join(dir, 'dead.ndjson')
  const skipped = await sh(`printf '{"a":1}\\nnot json\\n[3]\\n' | dstream batch 1d --json --on-bad-input skip --dead-letter ${deadLetter}`)
  t.equal(skipped.code, 0, `--on-bad-input skip: exit 0 ${skipped.stderr}`)
  t.same(recordsOf(skipped.stdout), [{ a: 1 }, [3]], 'the other lines go on')
  const letters = fs.readFileSync(deadLetter, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.match(letters, [{ operator: 'batch', record: 'not json' }], 'the bad line is in the dead-letter file')
  t.match(skipped.stderr, /dstream batch: 1 input set aside in .*dead\.ndjson/, 'and counted')
})

t.test('usage errors', async t => {
  for (const args of ['nope', '0', '5s --chunk 0', '5s 6s']) {
    const ran = await sh(`dstream batch ${args} < /dev/null`)
    t.equal(ran.code, 2, `batch ${args}: exit 2`)
    t.match(ran.stderr, /^dstream batch: .*\nUsage: dstream batch/, `batch ${args}: the reason and the usage`)
    t.equal(ran.stdout, '', `batch ${args}: no output`)
  }
})
