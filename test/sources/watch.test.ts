// watch DIR: Spark's textFileStream. Every new file of DIR is read once, whole,
// oldest first; what was read is in the source log, so a restart reads only new
// files and replays the batches the sinks have not committed (SPEC §4).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { DSTREAM, parseOutput, sh, userEnv } from '../helpers.js'
import { consecutive, live, sleep } from './live.js'
import type { Chunk } from '../../lib/core/types.js'

const recordsOf = (stdout: string) => parseOutput(stdout).batches.flatMap(b => b.records)
const batchesOf = (stdout: string) => parseOutput(stdout).batches

/** Sets a file's modification time to `secondsAgo` before now. */
function age (file: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000)
  fs.utimesSync(file, when, when)
}

/** Writes a file elsewhere and moves it into `dir` (the way files are meant to arrive). */
function moveIn (dir: string, name: string, text: string): void {
  const staged = path.join(path.dirname(dir), `.staged-${name}-${process.pid}`)
  fs.writeFileSync(staged, text)
  fs.renameSync(staged, path.join(dir, name))
}

/** The member of the state directory written by `operator` (e.g. the save sink). */
function member (stateDir: string, operator: string): string {
  const found = fs.readdirSync(stateDir).filter(n => {
    try { return JSON.parse(fs.readFileSync(path.join(stateDir, n, 'meta.json'), 'utf8')).operator === operator } catch { return false }
  })
  if (found.length !== 1) throw new Error(`expected one ${operator} member in ${stateDir}, found ${found.join(', ') || 'none'}`)
  return path.join(stateDir, found[0])
}

const committed = (stateDir: string): unknown => JSON.parse(fs.readFileSync(path.join(member(stateDir, 'save'), 'commit.json'), 'utf8')).committed

/** Moves the save sink's commit back, as if it had crashed before committing what followed. */
function setCommitted (stateDir: string, time: number | null): void {
  const file = path.join(member(stateDir, 'save'), 'commit.json')
  const commit = JSON.parse(fs.readFileSync(file, 'utf8'))
  fs.writeFileSync(file, JSON.stringify({ ...commit, committed: time }) + '\n')
}

async function waitUntil (what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

t.test('the files there are (--once)', async t => {
  const dir = t.testdir({
    in: {
      'z.txt': 'z1\nz2\n',
      'a.txt': 'a1\na2', // a last line without its newline is a line
      'b.txt': 'b1\r\nb2\n',
      'empty.txt': '',
      '.hidden': 'hidden\n',
      '_tmp': 'underscore\n',
      sub: { 'inner.txt': 'inner\n' }
    }
  })
  const dirIn = path.join(dir, 'in')
  age(path.join(dirIn, 'z.txt'), 300) // the oldest, though last by name
  for (const name of ['a.txt', 'b.txt', 'empty.txt']) age(path.join(dirIn, name), 100) // the same time: by name
  const ran = await sh(`dstream watch ${dirIn} --once --interval 1d`)
  t.equal(ran.code, 0, `--once: exit 0 ${ran.stderr}`)
  t.equal(ran.stderr, '', 'nothing said')
  const batches = batchesOf(ran.stdout)
  t.same(batches.flatMap(b => b.records), ['z1', 'z2', 'a1', 'a2', 'b1', 'b2'],
    'the lines of every file, oldest first (modification time, then name); no . or _ files, no subdirectories')
  t.equal(batches.length, 1, 'read at once: one batch of 1d')
  t.equal(batches[0].time % 86_400_000, 0, 'its time aligned to the interval')

  const pattern = t.testdir({ 'x.log': 'x\n', 'y.txt': 'y\n', 'z.log.gz': 'gz\n', '.h.log': 'hidden\n', 'w.log': 'w\n' })
  const matched = await sh(`dstream watch ${pattern} --once --pattern '*.log'`)
  t.equal(matched.code, 0, matched.stderr)
  t.same(recordsOf(matched.stdout).sort(), ['w', 'x'], "--pattern '*.log': only the names that match")
  const single = await sh(`dstream watch ${pattern} --once --pattern '?.txt'`)
  t.same(recordsOf(single.stdout), ['y'], "--pattern '?.txt'")

  const five = t.testdir({ f: '1\n2\n3\n4\n5\n' })
  const chunked = await sh(`dstream watch ${five} --once --interval 1d --chunk 2`)
  const { chunks } = parseOutput(chunked.stdout)
  t.same(chunks.map(c => [c.records, c.more === true]), [[['1', '2'], true], [['3', '4'], true], [['5'], false]], '--chunk 2: chunks of 2, "more" on all but the last')

  const json = t.testdir({ f: '{"a":1}\n[2]\n"s"\n' })
  const parsed = await sh(`dstream watch ${json} --once --json`)
  t.equal(parsed.code, 0, parsed.stderr)
  t.same(recordsOf(parsed.stdout), [{ a: 1 }, [2], 's'], '--json: each line parsed')

  const none = t.testdir({})
  const emptyDir = await sh(`dstream watch ${none} --once --interval 1d`)
  t.equal(emptyDir.code, 0, emptyDir.stderr)
  t.same(batchesOf(emptyDir.stdout).map(b => b.records), [[]], 'an empty directory: one empty batch')
})

t.test('files bigger than a read', async t => {
  const dir = t.testdir({ in: {} })
  const dirIn = path.join(dir, 'in')
  // about 1.4 MB of lines: more than one read of 1 MB, with a line across the boundary
  const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`)
  fs.writeFileSync(path.join(dirIn, 'big'), lines.join('\n') + '\n')
  const st = path.join(dir, 'state')
  const ran = await sh(`dstream watch ${dirIn} --once --interval 1d --state-dir ${st}`)
  t.equal(ran.code, 0, ran.stderr)
  const got = recordsOf(ran.stdout)
  t.equal(got.length, lines.length, 'every line once')
  t.same(got, lines, 'each line whole, in order')
  const log = fs.readFileSync(path.join(member(st, 'watch'), 'log.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.ok(log.filter(e => 'read' in e).length >= 2, 'read in more than one read')

  const long = t.testdir({ in: {} })
  const longLine = 'y'.repeat(1_500_000)
  fs.writeFileSync(path.join(long, 'in', 'long'), `${longLine}\nshort\n`)
  const longRan = await sh(`dstream watch ${path.join(long, 'in')} --once --interval 1d --state-dir ${path.join(long, 'state')}`)
  t.equal(longRan.code, 0, longRan.stderr)
  const longGot = recordsOf(longRan.stdout) as string[]
  t.same(longGot.map(r => r.length), [longLine.length, 'short'.length],
    'a line longer than a read (1.5 MB) is one record, whole, not cut at 1 MB')
})

t.test('live: files moved in', async t => {
  const dir = t.testdir({ in: {} })
  const dirIn = path.join(dir, 'in')
  const running = live(['watch', dirIn, '--interval', '200ms', '--state-dir', path.join(dir, 'state')])
  await running.waitFor(/"time"/, 'stdout') // started: empty batches every interval
  moveIn(dirIn, 'one', 'one-1\none-2\n')
  await running.waitFor(/"one-2"/, 'stdout')
  moveIn(dirIn, 'two', 'two-1\n')
  moveIn(dirIn, 'three', 'three-1\nthree-2')
  // a file written in DIR under a hidden name, then renamed: read once, when renamed
  fs.writeFileSync(path.join(dirIn, '.four'), 'four-1\n')
  await running.waitFor(/"three-2"/, 'stdout')
  fs.renameSync(path.join(dirIn, '.four'), path.join(dirIn, 'four'))
  await running.waitFor(/"four-1"/, 'stdout')
  await sleep(700) // several looks at DIR: nothing is read twice
  t.ok(running.running(), 'runs until told to stop')
  const exited = await running.stop('SIGTERM')
  t.equal(exited.code, 0, `SIGTERM: exit 0 ${exited.stderr}`)
  t.equal(exited.stderr, '', 'nothing said')
  t.same([...exited.records].sort(), ['four-1', 'one-1', 'one-2', 'three-1', 'three-2', 'two-1'], 'each file read once')
  const records = exited.records as string[]
  t.ok(records.indexOf('one-2') < records.indexOf('two-1'), 'in the order they came')
  t.ok(exited.batches.length >= 3 && consecutive(exited.batches, 200), 'a batch every interval, aligned')
  t.notOk(exited.chunks.at(-1)!.more, 'the last batch is closed')
})

t.test('restart: only new files', async t => {
  const dir = t.testdir({ in: { f1: 'f1-a\nf1-b\n', f2: 'f2-a\n' }, state: {} })
  const dirIn = path.join(dir, 'in')
  const run = () => sh(`dstream watch ${dirIn} --once --interval 200ms --state-dir ${path.join(dir, 'state')}`)
  const first = await run()
  t.equal(first.code, 0, first.stderr)
  t.same(recordsOf(first.stdout).sort(), ['f1-a', 'f1-b', 'f2-a'], 'the first run reads every file')

  moveIn(dirIn, 'f3', 'f3-a\n')
  const second = await run()
  t.equal(second.code, 0, second.stderr)
  t.same(recordsOf(second.stdout), ['f3-a'], 'a second run reads only the new file')
  t.ok(batchesOf(second.stdout)[0].time > batchesOf(first.stdout).at(-1)!.time, 'in batches after the first run\'s')

  moveIn(dirIn, 'f1', 'f1-new\n') // a new file of the same name
  const third = await run()
  t.same(recordsOf(third.stdout), ['f1-new'], 'a file replaced by a new one of the same name is read again')

  // deleted and created again with the same name and size (its inode may well be reused)
  fs.rmSync(path.join(dirIn, 'f2'))
  fs.writeFileSync(path.join(dirIn, 'f2'), 'f2-b\n')
  age(path.join(dirIn, 'f2'), 5)
  const fourth = await run()
  t.same(recordsOf(fourth.stdout), ['f2-b'], 'so is one deleted and written again')

  const fifth = await run()
  t.equal(fifth.code, 0, fifth.stderr)
  t.same(recordsOf(fifth.stdout), [], 'unchanged files are never read twice')
  t.ok(batchesOf(fifth.stdout).length >= 1, 'a run with nothing new still closes its batch')
  t.notMatch(first.stderr + second.stderr + third.stderr + fourth.stderr + fifth.stderr, /replaying/, 'no sink: nothing replayed')

  // files read and then removed are forgotten, so the cursor does not grow with every file ever seen
  fs.rmSync(path.join(dirIn, 'f3'))
  await run()
  await run()
  const start = JSON.parse(fs.readFileSync(path.join(member(path.join(dir, 'state'), 'watch'), 'log.ndjson'), 'utf8').split('\n')[0])
  t.same(Object.keys(start.start.done).sort(), ['f1', 'f2'], 'the log keeps only the files still there')
})

t.test('replay: the batches the sink has not committed', async t => {
  const dir = t.testdir({ in: { a1: 'a1-x\na1-y\n', a2: 'a2-x\n' }, state: {}, out: {} })
  const dirIn = path.join(dir, 'in')
  const st = path.join(dir, 'state')
  const out = path.join(dir, 'out')
  let n = 0
  const run = async () => {
    const capture = path.join(dir, `run${++n}.ndjson`)
    const ran = await sh(`dstream watch ${dirIn} --once --interval 200ms | tee ${capture} | dstream save ${out}/w`, { env: { DSTREAM_STATE_DIR: st } })
    return { ...ran, batches: batchesOf(fs.readFileSync(capture, 'utf8')) }
  }
  const saved = (time: number) => path.join(out, `w-${time}`)

  const first = await run()
  t.equal(first.code, 0, first.stderr)
  moveIn(dirIn, 'b1', 'b1-x\nb1-y\nb1-z\n')
  const second = await run()
  t.equal(second.code, 0, second.stderr)
  t.same(second.batches.flatMap(b => b.records), ['b1-x', 'b1-y', 'b1-z'], 'the second run reads the new file')
  const t1 = first.batches.at(-1)!.time
  const again = second.batches
  t.equal(committed(st), again.at(-1)!.time, 'save committed the last batch')

  // save crashed after committing the first run's last batch
  setCommitted(st, t1)
  const before = Object.fromEntries(fs.readdirSync(out).map(f => [f, fs.readFileSync(path.join(out, f), 'utf8')]))
  const t1Stat = fs.statSync(saved(t1))
  for (const b of again) fs.rmSync(saved(b.time))
  moveIn(dirIn, 'c1', 'c1-x\n')
  const third = await run()
  t.equal(third.code, 0, third.stderr)
  t.match(third.stderr, /^dstream watch: replaying \d+ batch/, 'says it replays')
  t.same(third.batches.slice(0, again.length), again, 'the uncommitted batches first, with the same times and records')
  t.same(third.batches.slice(again.length).flatMap(b => b.records), ['c1-x'], 'then the new file, read once')
  t.ok(third.batches[again.length].time > again.at(-1)!.time, 'in later batches')
  const after = Object.fromEntries(fs.readdirSync(out).filter(f => f in before).map(f => [f, fs.readFileSync(path.join(out, f), 'utf8')]))
  t.same(after, before, "save's files are written again, identical")
  t.equal(fs.statSync(saved(t1)).mtimeMs, t1Stat.mtimeMs, 'the committed batch is not written again')

  const fourth = await run()
  t.equal(fourth.code, 0, fourth.stderr)
  t.notMatch(fourth.stderr, /replaying/, 'every batch committed: nothing replayed')
  t.same(fourth.batches.flatMap(b => b.records), [], 'and nothing read again')
  t.ok(fourth.batches[0].time > third.batches.at(-1)!.time, 'its batches come after')
})

t.test('replay from nothing committed (commit null)', async t => {
  const dir = t.testdir({ in: { f: 'x\ny\n', g: 'z\n' }, state: {}, out: {} })
  const script = `dstream watch ${dir}/in --once --interval 200ms | tee -a ${dir}/stream | dstream save ${dir}/out/w`
  const env = { DSTREAM_STATE_DIR: path.join(dir, 'state') }
  const first = await sh(script, { env })
  t.equal(first.code, 0, first.stderr)
  const firstBatches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  const files = fs.readdirSync(path.join(dir, 'out')).sort()
  const contents = files.map(f => fs.readFileSync(path.join(dir, 'out', f), 'utf8'))
  t.same(files, firstBatches.map(b => `w-${b.time}`).sort(), 'a file per batch')
  setCommitted(path.join(dir, 'state'), null)
  for (const f of files) fs.rmSync(path.join(dir, 'out', f))
  fs.writeFileSync(path.join(dir, 'stream'), '')
  const second = await sh(script, { env })
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, /dstream watch: replaying/, 'says it replays')
  const secondBatches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  t.same(secondBatches.slice(0, firstBatches.length), firstBatches, 'every logged batch again, same times, same records')
  t.same(secondBatches.slice(firstBatches.length).flatMap(b => b.records), [], 'no file read a second time live')
  t.same(files.map(f => fs.readFileSync(path.join(dir, 'out', f), 'utf8')), contents, "save's files identical")

  // a file of an uncommitted batch that is gone cannot be replayed: said, exit 1
  setCommitted(path.join(dir, 'state'), null)
  fs.rmSync(path.join(dir, 'in', 'g'))
  const gone = await sh(script, { env })
  t.equal(gone.code, 1, 'exit 1')
  t.match(gone.stderr, /dstream watch: cannot replay .*\/in\/g: the file .* is gone/, 'naming the file')
})

t.test('a file that disappears before it is read', async t => {
  const dir = t.testdir({ in: {}, state: {} })
  const dirIn = path.join(dir, 'in')
  // a: 2 MB of lines, far more than a pipe holds; b and c after it
  const aLines = Array.from({ length: 20_000 }, (_, i) => `a-${i}-${'.'.repeat(90)}`)
  fs.writeFileSync(path.join(dirIn, 'a'), aLines.join('\n') + '\n')
  fs.writeFileSync(path.join(dirIn, 'b'), 'b-1\n')
  fs.writeFileSync(path.join(dirIn, 'c'), 'c-1\n')
  age(path.join(dirIn, 'a'), 30)
  age(path.join(dirIn, 'b'), 20)
  age(path.join(dirIn, 'c'), 10)
  const ready = path.join(dir, 'ready')
  const go = path.join(dir, 'go')
  const out = path.join(dir, 'out')
  // the reader takes one line, then stops reading: watch, pushed back, is inside a
  // (it has listed a, b and c) until it is let go; b is deleted meanwhile
  const reader = `{ IFS= read -r first; printf '%s\\n' "$first" > ${out}; touch ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done; cat >> ${out}; }`
  const running = sh(`dstream watch ${dirIn} --once --interval 1d --state-dir ${dir}/state | ${reader}`)
  await waitUntil('the first chunk', () => fs.existsSync(ready))
  fs.rmSync(path.join(dirIn, 'b'))
  fs.writeFileSync(go, '')
  const ran = await running
  t.equal(ran.code, 0, `exit 0 ${ran.stderr}`)
  t.match(ran.stderr, /^dstream watch: \S*\/in\/b disappeared before it was read; skipped \(1 so far\)\n/, 'said on stderr, naming the file, counted')
  const records = recordsOf(fs.readFileSync(out, 'utf8'))
  t.equal(records.length, aLines.length + 1, 'the others are read')
  t.same(records.slice(-1), ['c-1'], 'c after a')
  t.same(records.slice(0, aLines.length), aLines, 'a whole')
})

t.test('kill -9 inside a file: a restart reads it whole, once', async t => {
  const dir = t.testdir({ in: {}, state: { sink: { 'meta.json': JSON.stringify({ operator: 'hand-sink', role: 'sink', definition: {} }), 'commit.json': '{"committed":null}' } } })
  const dirIn = path.join(dir, 'in')
  const st = path.join(dir, 'state')
  const lines = Array.from({ length: 25_000 }, (_, i) => `k-${i}-${'.'.repeat(90)}`)
  fs.writeFileSync(path.join(dirIn, 'a'), lines.join('\n') + '\n')
  // nobody reads its stdout: watch is held inside the file
  const child = spawn('bash', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', DSTREAM, 'watch', dirIn, '--interval', '1d', '--state-dir', st], { env: userEnv(), stdio: ['ignore', 'pipe', 'ignore'] })
  child.stdout.pause()
  const closed = new Promise<NodeJS.Signals | null>(resolve => child.on('close', (_code, signal) => resolve(signal)))
  try {
    await waitUntil('a read in the log', () => {
      try { return /"read":/.test(fs.readFileSync(path.join(member(st, 'watch'), 'log.ndjson'), 'utf8')) } catch { return false }
    })
    await sleep(200)
  } finally {
    child.kill('SIGKILL')
  }
  t.equal(await closed, 'SIGKILL', 'killed inside the file')
  t.notMatch(fs.readFileSync(path.join(member(st, 'watch'), 'log.ndjson'), 'utf8'), /"batch":/, 'before its batch was logged')
  const restarted = await sh(`dstream watch ${dirIn} --once --interval 1d --state-dir ${st}`)
  t.equal(restarted.code, 0, restarted.stderr)
  const records = recordsOf(restarted.stdout)
  t.equal(records.length, lines.length, 'every line of the file')
  t.same(records, lines, 'once, in order: the batch open at the crash never left, so the file is read again')
})

t.test('bad input', async t => {
  const dir = t.testdir({ file: 'not a dir\n', in: { f: '{"a":1}\nnot json\n[3]\n' } })
  for (const target of ['file', 'missing']) {
    const ran = await sh(`dstream watch ${path.join(dir, target)} --once`)
    t.equal(ran.code, 2, `DIR ${target}: exit 2`)
    t.match(ran.stderr, /^dstream watch: .* is not a directory\nUsage: dstream watch/, `DIR ${target}: the reason and the usage`)
    t.equal(ran.stdout, '', 'no output')
  }
  for (const args of ['--interval 0', '--chunk 0', '--watermark 1s', '--event-time _.t --watermark soon']) {
    const ran = await sh(`dstream watch ${dir}/in --once ${args}`)
    t.equal(ran.code, 2, `${args}: exit 2`)
    t.match(ran.stderr, /^dstream watch: .*\nUsage: dstream watch/, `${args}: the reason and the usage`)
  }
  const broken = await sh(`dstream watch ${dir}/in --once --event-time '(r) =>'`)
  t.equal(broken.code, 2, '--event-time that does not compile: exit 2')
  t.match(broken.stderr, /^dstream watch: --event-time does not compile/, 'said')

  const bad = await sh(`dstream watch ${dir}/in --once --json`)
  t.equal(bad.code, 65, 'a line that is not JSON: exit 65')
  t.match(bad.stderr, /^dstream watch: batch \d+: not JSON.*: "not json"\n/, 'names watch, the batch and the line')

  const deadLetter = path.join(dir, 'dead.ndjson')
  const skipped = await sh(`dstream watch ${dir}/in --once --json --on-bad-input skip --dead-letter ${deadLetter}`)
  t.equal(skipped.code, 0, `--on-bad-input skip: exit 0 ${skipped.stderr}`)
  t.same(recordsOf(skipped.stdout), [{ a: 1 }, [3]], 'the other lines go on')
  const letters = fs.readFileSync(deadLetter, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.match(letters, [{ operator: 'watch', record: 'not json' }], 'the bad line is in the dead-letter file')
  t.equal(letters.length, 1, 'once')
  t.match(skipped.stderr, /dstream watch: 1 input set aside in .*dead\.ndjson/, 'and counted')

  // replayed: the bad line is met again; it was set aside already (as late records are not set aside twice)
  const st = path.join(dir, 'state')
  const pipeline = `dstream watch ${dir}/in --once --json --on-bad-input skip --dead-letter ${dir}/dl2.ndjson | dstream save ${dir}/out/j`
  const once = await sh(pipeline, { env: { DSTREAM_STATE_DIR: st } })
  t.equal(once.code, 0, once.stderr)
  setCommitted(st, null)
  const replayed = await sh(pipeline, { env: { DSTREAM_STATE_DIR: st } })
  t.equal(replayed.code, 0, replayed.stderr)
  t.match(replayed.stderr, /replaying/)
  t.equal(fs.readFileSync(path.join(dir, 'dl2.ndjson'), 'utf8').trim().split('\n').length, 1,
    'a replayed bad line is not dead-lettered a second time (its position is in the log)')

  // a state directory that cannot be used: exit 1 at start, also without --once
  const stateFile = path.join(dir, 'file')
  const unusable = await sh(`dstream watch ${dir}/in --once --state-dir ${stateFile}`)
  t.equal(unusable.code, 1, 'an unusable state directory: exit 1')
  t.match(unusable.stderr, /^dstream watch: cannot use the state directory /, 'said')
  t.equal(unusable.stdout, '', 'nothing emitted')
  const started = Date.now()
  const liveUnusable = await sh(`dstream watch ${dir}/in --state-dir ${stateFile}`, { timeout: 10_000 })
  t.equal(liveUnusable.code, 1, 'running live: exit 1 at start, not killed later')
  t.ok(Date.now() - started < 8000, 'at once')
})

t.test('event time over files', async t => {
  const dir = t.testdir({ in: {}, state: {}, out: {} })
  const dirIn = path.join(dir, 'in')
  const line = (t: number, v: string) => JSON.stringify({ t, v })
  // timestamps out of order within and across files; watermark 1s
  fs.writeFileSync(path.join(dirIn, 'f1'), [line(1000, 'a'), line(2500, 'b'), line(1500, 'c')].join('\n') + '\n')
  fs.writeFileSync(path.join(dirIn, 'f2'), [line(3200, 'd'), line(1900, 'e'), line(2900, 'f'), line(4100, 'g')].join('\n') + '\n')
  age(path.join(dirIn, 'f1'), 20)
  age(path.join(dirIn, 'f2'), 10)
  const deadLetter = path.join(dir, 'dead.ndjson')
  const pipeline = `dstream watch ${dirIn} --once --json --event-time _.t --watermark 1s --interval 1s --dead-letter ${deadLetter} | tee -a ${dir}/stream | dstream save ${dir}/out/e`
  const env = { DSTREAM_STATE_DIR: path.join(dir, 'state') }
  const ran = await sh(pipeline, { env })
  t.equal(ran.code, 0, ran.stderr)
  const batches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  const values = (bs: Chunk[]) => bs.map(b => [b.time, (b.records as Array<{ v: string }>).map(r => r.v)])
  t.same(values(batches), [[2000, ['a', 'c']], [3000, ['b', 'f']], [4000, ['d']], [5000, ['g']]],
    'batches by timestamp: a record within the watermark joins its batch, every interval a batch')
  const letters = fs.readFileSync(deadLetter, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.match(letters, [{ operator: 'watch', record: { t: 1900, v: 'e' } }], 'the late record is dead-lettered')
  t.match(ran.stderr, /dstream watch: 1 input set aside/, 'and counted')

  // the sink had committed 2000 only: the batches after it are rebuilt, the same
  setCommitted(path.join(dir, 'state'), 2000)
  fs.writeFileSync(path.join(dir, 'stream'), '')
  const rebuilt = await sh(pipeline, { env })
  t.equal(rebuilt.code, 0, rebuilt.stderr)
  t.match(rebuilt.stderr, /rebuilding the batches after 2000/, 'says so')
  t.same(values(batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))), values(batches.slice(1)), 'the same batches after 2000')
  t.equal(fs.readFileSync(deadLetter, 'utf8').trim().split('\n').length, 1, 'the late record is not set aside again')
})
