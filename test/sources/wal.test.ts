// --wal on the line sources (batch, socket, listen, exec): what comes in is written
// to segment files DIR/NAME/wal-N.log and every batch is logged in DIR/NAME/log.ndjson
// before it leaves, so a restart emits again what the sinks had not committed
// (SPEC §4), though stdin, a socket or a command cannot give it again.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseOutput, sh } from '../helpers.js'
import { connect, live, send, sleep } from './live.js'
import type { Chunk } from '../../lib/core/types.js'

const batchesOf = (text: string) => parseOutput(text).batches
const readJsonLines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l))

/** The member of the state directory written by `operator`. */
function member (stateDir: string, operator: string): string {
  const found = fs.readdirSync(stateDir).filter(n => {
    try { return JSON.parse(fs.readFileSync(path.join(stateDir, n, 'meta.json'), 'utf8')).operator === operator } catch { return false }
  })
  if (found.length !== 1) throw new Error(`expected one ${operator} member in ${stateDir}, found ${found.join(', ') || 'none'}`)
  return path.join(stateDir, found[0])
}

const segments = (dir: string) => fs.readdirSync(dir).filter(n => /^wal-\d+\.log$/.test(n)).sort()

/** Moves a sink's commit (save's, or the hand-made one's) back, as if it had crashed before committing what followed. */
function setCommitted (stateDir: string, time: number | null, operator = 'save'): void {
  const file = path.join(member(stateDir, operator), 'commit.json')
  const commit = JSON.parse(fs.readFileSync(file, 'utf8'))
  fs.writeFileSync(file, JSON.stringify({ ...commit, committed: time }) + '\n')
}

/** A sink made by hand, per the protocol: meta.json with role "sink", commit.json. Nothing committed. */
function handSink (stateDir: string): void {
  fs.mkdirSync(path.join(stateDir, 'sink'), { recursive: true })
  fs.writeFileSync(path.join(stateDir, 'sink', 'meta.json'), JSON.stringify({ operator: 'hand-sink', role: 'sink', definition: {} }) + '\n')
  fs.writeFileSync(path.join(stateDir, 'sink', 'commit.json'), JSON.stringify({ committed: null }) + '\n')
}

async function waitUntil (what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

t.test('batch --wal writes ahead', async t => {
  const st = t.testdir({})
  const ran = await sh("printf 'a\\nb\\n' | dstream batch --wal --state-dir " + st)
  t.equal(ran.code, 0, ran.stderr)
  t.same(batchesOf(ran.stdout).map(b => b.records), [['a', 'b']], 'the lines, as without --wal')
  const dirs = fs.readdirSync(st).filter(n => n.startsWith('batch-'))
  t.equal(dirs.length, 1, 'DIR/batch-*/ is made')
  const dir = path.join(st, dirs[0])
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')), { operator: 'batch', role: 'source' }, 'a source member')
  t.same(segments(dir), ['wal-000001.log'], 'one segment')
  t.equal(fs.readFileSync(path.join(dir, 'wal-000001.log'), 'utf8'), 'a\nb\n', 'holding the lines')
  const log = readJsonLines(path.join(dir, 'log.ndjson'))
  const reads = log.filter(e => 'read' in e)
  const batches = log.filter(e => 'batch' in e)
  t.equal(batches.length, 1, 'the batch is logged')
  t.equal(batches[0].batch, batchesOf(ran.stdout)[0].time, 'with its time')
  t.ok(reads.length >= 1 && reads.every(r => path.basename(r.file) === 'wal-000001.log'), 'its reads point into the segment')
  t.same([Math.min(...reads.map(r => r.from)), Math.max(...reads.map(r => r.until))], [0, 4], 'covering its bytes')
  t.match(batches[0].reads, [reads[0].read, reads.at(-1).read], 'the batch names its reads')

  const plain = t.testdir({})
  await sh(`printf 'a\\n' | dstream batch --state-dir ${plain}`)
  t.same(fs.readdirSync(plain), ['metrics'], 'without --wal nothing is written but the stage\'s metrics')
})

t.test('batch --wal: replay after the commit moves back', async t => {
  const dir = t.testdir({ state: {}, out: {} })
  const st = path.join(dir, 'state')
  const out = path.join(dir, 'out')
  let n = 0
  const run = async (feed: string) => {
    const capture = path.join(dir, `run${++n}.ndjson`)
    const ran = await sh(`${feed} | dstream batch 200ms --wal --state-dir ${st} | tee ${capture} | dstream save ${out}/x --state-dir ${st}`)
    return { ...ran, batches: batchesOf(fs.readFileSync(capture, 'utf8')) }
  }
  const saved = (time: number) => path.join(out, `x-${time}`)
  // a once batch has started (its log is there), then b and c a few intervals apart
  const first = await run(`(until ls ${st}/batch-*/log.ndjson >/dev/null 2>&1; do sleep 0.05; done; echo a; sleep 0.6; echo b; sleep 0.6; echo c)`)
  t.equal(first.code, 0, first.stderr)
  t.same(first.batches.flatMap(b => b.records), ['a', 'b', 'c'], 'the first run')
  const ta = first.batches.find(b => b.records.includes('a'))!.time
  const again = first.batches.filter(b => b.time > ta)
  t.ok(again.some(b => b.records.includes('b')), 'b came in a later batch than a')
  const source = member(st, 'batch')
  const firstSegment = fs.readFileSync(path.join(source, 'wal-000001.log'), 'utf8')

  // save crashed after committing a's batch
  setCommitted(st, ta)
  const contents = Object.fromEntries(again.map(b => [b.time, fs.readFileSync(saved(b.time), 'utf8')]))
  const taStat = fs.statSync(saved(ta))
  for (const b of again) fs.rmSync(saved(b.time))
  const second = await run("printf 'new\\n'")
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, new RegExp(`^dstream batch: replaying ${again.length} batch`), 'says it replays')
  t.same(second.batches.slice(0, again.length), again, 'the uncommitted batches first: same times, same records')
  t.same(second.batches.slice(again.length).flatMap(b => b.records), ['new'], 'then the new line')
  t.ok(second.batches[again.length].time > again.at(-1)!.time, 'in a later batch')
  t.same(Object.fromEntries(again.map(b => [b.time, fs.readFileSync(saved(b.time), 'utf8')])), contents, "save's files written again, identical")
  t.equal(fs.statSync(saved(ta)).mtimeMs, taStat.mtimeMs, 'the committed batch is not written again')
  t.equal(fs.readFileSync(path.join(source, 'wal-000001.log'), 'utf8'), firstSegment, 'the segment the replayed batches are in is kept')

  // every batch committed: nothing replayed; the old segments go
  t.equal(JSON.parse(fs.readFileSync(path.join(member(st, 'save'), 'commit.json'), 'utf8')).committed, second.batches.at(-1)!.time, 'all committed')
  const third = await run("printf 'third\\n'")
  t.equal(third.code, 0, third.stderr)
  t.notMatch(third.stderr, /replaying/, 'every batch committed: a restart replays nothing')
  t.same(third.batches.flatMap(b => b.records), ['third'], 'only the new line')
  t.ok(third.batches[0].time > second.batches.at(-1)!.time, 'in later batches')
  const left = segments(source)
  t.equal(left.length, 1, `the segments no logged read points into are gone (${left.join(' ')})`)
  t.equal(fs.readFileSync(path.join(source, left[0]), 'utf8'), 'third\n', 'the one left holds only the new line')
})

t.test('exec --wal: replay from nothing committed', async t => {
  const dir = t.testdir({ state: {} })
  const st = path.join(dir, 'state')
  const script = `dstream exec --wal --restart never --interval 200ms -- printf 'a\\nb\\n' | tee -a ${dir}/stream | dstream save ${dir}/out/e`
  const first = await sh(script, { env: { DSTREAM_STATE_DIR: st } })
  t.equal(first.code, 0, first.stderr)
  const firstBatches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  t.same(firstBatches.flatMap(b => b.records), ['a', 'b'])
  t.ok(segments(member(st, 'exec')).length === 1, 'a WAL segment')
  const files = fs.readdirSync(path.join(dir, 'out')).sort()
  const contents = files.map(f => fs.readFileSync(path.join(dir, 'out', f), 'utf8'))
  setCommitted(st, null)
  for (const f of files) fs.rmSync(path.join(dir, 'out', f))
  fs.writeFileSync(path.join(dir, 'stream'), '')
  const second = await sh(script, { env: { DSTREAM_STATE_DIR: st } })
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, /^dstream exec: replaying/, 'says it replays')
  const secondBatches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  t.same(secondBatches.slice(0, firstBatches.length), firstBatches, 'the first run\'s batches again, same times and records')
  t.same(secondBatches.slice(firstBatches.length).flatMap(b => b.records), ['a', 'b'], "then this run's lines")
  t.ok(secondBatches[firstBatches.length].time > firstBatches.at(-1)!.time, 'in later batches')
  t.same(files.map(f => fs.readFileSync(path.join(dir, 'out', f), 'utf8')), contents, "save's files identical")
})

t.test('listen --wal: replay', async t => {
  const st = t.testdir({})
  handSink(st)
  const LISTENING = /dstream listen: listening on 127\.0\.0\.1:(\d+)\n/
  const args = ['listen', '0', '--wal', '--interval', '200ms', '--state-dir', st]
  const first = live(args)
  const client = await connect(Number((await first.waitFor(LISTENING))[1]))
  await send(client, 'p1\np2\n')
  client.end()
  await first.waitFor(/"p2"/, 'stdout')
  const one = await first.stop('SIGTERM')
  t.equal(one.code, 0, one.stderr)
  t.same(one.records, ['p1', 'p2'], 'the pushed lines')

  const second = live(args)
  const port = Number((await second.waitFor(LISTENING))[1])
  t.match(second.stderr(), /^dstream listen: replaying \d+ batch/, 'replays before it listens')
  const again = await connect(port)
  await send(again, 'p3\n')
  again.end()
  await second.waitFor(/"p3"/, 'stdout')
  const two = await second.stop('SIGTERM')
  t.equal(two.code, 0, two.stderr)
  t.same(two.batches.slice(0, one.batches.length), one.batches, 'the uncommitted batches again, same times and records')
  t.same(two.batches.slice(one.batches.length).flatMap(b => b.records), ['p3'], 'then the new line')

  setCommitted(st, two.batches.at(-1)!.time, 'hand-sink')
  const third = live(args)
  await third.waitFor(LISTENING)
  const three = await third.stop('SIGTERM')
  t.equal(three.code, 0, three.stderr)
  t.notMatch(three.stderr, /replaying/, 'all committed: nothing replayed')
  t.same(three.records, [], 'nothing emitted again')
})

t.test('kill -9 inside a batch: its lines come from the WAL', async t => {
  const st = t.testdir({})
  handSink(st)
  const running = live(['batch', '1d', '--wal', '--state-dir', st], { stdin: 'pipe' })
  running.child.stdin!.write('a\nb\n')
  // the lines are in the WAL once their read is logged
  await waitUntil('the read in the log', () => {
    try { return /"read":/.test(fs.readFileSync(path.join(member(st, 'batch'), 'log.ndjson'), 'utf8')) } catch { return false }
  })
  const killed = await running.stop('SIGKILL')
  t.equal(killed.signal, 'SIGKILL')
  t.same(killed.records, [], 'the batch never left')
  const restarted = await sh(`dstream batch 1d --wal --state-dir ${st} < /dev/null`)
  t.equal(restarted.code, 0, restarted.stderr)
  t.same(batchesOf(restarted.stdout).flatMap(b => b.records), ['a', 'b'], 'read before the crash, never emitted: in the first batch after the restart')
})

t.test('--event-time with --wal: rebuilt the same', async t => {
  const dir = t.testdir({ state: {} })
  const st = path.join(dir, 'state')
  const deadLetter = path.join(dir, 'dead.ndjson')
  const script = `dstream batch 1s --event-time 'Number(_)' --wal --dead-letter ${deadLetter} | tee -a ${dir}/stream | dstream save ${dir}/out/e`
  const env = { DSTREAM_STATE_DIR: st }
  const first = await sh(`printf '1000\\n1500\\n2500\\n900\\n3500\\n' | ${script}`, { env })
  t.equal(first.code, 0, first.stderr)
  const batches = batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))
  const view = (bs: Chunk[]) => bs.map(b => [b.time, b.records])
  t.same(view(batches), [[2000, ['1000', '1500']], [3000, ['2500']], [4000, ['3500']]], 'batches by event time')
  t.match(readJsonLines(deadLetter), [{ operator: 'batch', record: '900' }], 'the late record dead-lettered')

  setCommitted(st, 2000)
  fs.writeFileSync(path.join(dir, 'stream'), '')
  const rebuilt = await sh(`cat /dev/null | ${script}`, { env })
  t.equal(rebuilt.code, 0, rebuilt.stderr)
  t.match(rebuilt.stderr, /dstream batch: rebuilding the batches after 2000/, 'says so')
  t.same(view(batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))), view(batches.slice(1)), 'the batches after 2000 again, the same')
  t.equal(readJsonLines(deadLetter).length, 1, 'the late record is not set aside twice')

  fs.writeFileSync(path.join(dir, 'stream'), '')
  const next = await sh(`printf '3900\\n4500\\n' | ${script}`, { env })
  t.equal(next.code, 0, next.stderr)
  t.notMatch(next.stderr, /rebuilding|replaying/, 'all committed: nothing again')
  t.same(view(batchesOf(fs.readFileSync(path.join(dir, 'stream'), 'utf8'))), [[5000, ['4500']]], 'new records after the last batch; one for a batch already emitted is late')
  t.equal(readJsonLines(deadLetter).length, 2, 'and set aside')
})

t.test('segments', async t => {
  const st = t.testdir({})
  const first = await sh(`printf 'a\\n' | dstream batch 1d --wal --state-dir ${st}`)
  t.equal(first.code, 0, first.stderr)
  const source = member(st, 'batch')
  fs.writeFileSync(path.join(source, 'wal-000000.log'), 'old\n')
  const second = await sh(`dstream batch 1d --wal --state-dir ${st} < /dev/null`)
  t.equal(second.code, 0, second.stderr)
  t.same(segments(source), [], 'no sink, nothing to replay: every segment is deleted at start, the hand-made one too')

  // one the log still points into is kept
  const kept = t.testdir({})
  handSink(kept)
  await sh(`printf 'a\\nb\\n' | dstream batch 1d --wal --state-dir ${kept}`)
  const keptSource = member(kept, 'batch')
  fs.writeFileSync(path.join(keptSource, 'wal-000000.log'), 'old\n')
  const again = await sh(`printf 'c\\n' | dstream batch 1d --wal --state-dir ${kept}`)
  t.equal(again.code, 0, again.stderr)
  t.same(batchesOf(again.stdout).map(b => b.records), [['a', 'b'], ['c']], 'the uncommitted batch replayed, then the new line')
  t.same(segments(keptSource), ['wal-000001.log', 'wal-000002.log'], 'the segment still in the log is kept, the new lines go to a new one, the stray one is gone')
  t.equal(fs.readFileSync(path.join(keptSource, 'wal-000001.log'), 'utf8'), 'a\nb\n')
})

t.test('the state directory named relative, then absolute', async t => {
  // the same pipeline, the same directory, spelled ./state and then /abs/state
  const dir = t.testdir({})
  handSink(path.join(dir, 'state'))
  const first = await sh("printf 'a\\nb\\n' | dstream batch 1d --wal --state-dir state", { cwd: dir })
  t.equal(first.code, 0, first.stderr)
  const second = await sh(`printf 'WRONG-LINE\\nc\\n' | dstream batch 1d --wal --state-dir ${path.join(dir, 'state')}`, { cwd: dir })
  t.equal(second.code, 0, second.stderr)
  t.same(batchesOf(second.stdout).map(b => b.records), [['a', 'b'], ['WRONG-LINE', 'c']], 'the second run replays the first batch')
  const third = await sh('dstream batch 1d --wal --state-dir state < /dev/null', { cwd: dir })
  t.equal(third.code, 0, `nothing committed yet: a third run replays both batches again (exit 0) ${third.stderr}`)
  t.same(batchesOf(third.stdout).slice(0, 2).map(b => b.records), [['a', 'b'], ['WRONG-LINE', 'c']],
    'the same records: the segment of the first batch must not be deleted (nor its name reused) while the log points into it')
})

t.test('bad input', async t => {
  const dir = t.testdir({ file: 'a file\n' })
  const stateFile = path.join(dir, 'file')
  for (const [name, command] of [
    ['batch', `printf 'a\\n' | dstream batch --wal --state-dir ${stateFile}`],
    ['exec', `dstream exec --wal --restart never --state-dir ${stateFile} -- printf 'a\\n'`],
    ['listen', `dstream listen 0 --wal --state-dir ${stateFile}`]
  ]) {
    const started = Date.now()
    const ran = await sh(command, { timeout: 10_000 })
    t.equal(ran.code, 1, `${name} --wal, an unusable state directory: exit 1`)
    t.match(ran.stderr, new RegExp(`^dstream ${name}: cannot use the state directory `), 'said')
    t.equal(ran.stdout, '', 'nothing emitted')
    t.ok(Date.now() - started < 8000, 'at start')
  }

  const bad = await sh(`printf '1\\nnope\\n' | dstream batch 1d --json --wal --state-dir ${dir}/st`)
  t.equal(bad.code, 65, '--json with a bad line: exit 65')
  t.match(bad.stderr, /^dstream batch: batch \d+: not JSON.*"nope"/, 'naming the operator and the line')
})
