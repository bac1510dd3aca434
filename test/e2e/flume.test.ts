// dstream flume fed by a real Apache Flume 1.11 agent (scripts/flume/agent.sh): a
// spooling-directory source, the UUID interceptor and a static header, a file channel
// and an avro sink pointed at `dstream flume`. 10,000 events in, the same 10,000
// records out with their headers, with and without the sink's deflate; and dstream
// flume killed with kill -9 at seeded random moments while the agent pushes: with
// --id-header every event is saved once, without it every event at least once.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { crashRuns, keep, seedFromEnv, sleep } from '../crash.js'
import { freshDir, sh } from '../helpers.js'
import { flume } from '../services.js'
import { freePort, live } from '../sources/live.js'

const run = promisify(execFile)
const KILLS = Number(process.env.DSTREAM_CRASH_KILLS ?? 6)

/**
 * A Flume agent that reads files dropped into `spool` (each line an event, with a
 * UUID in the header id and host=test), keeps them in a file channel and pushes them to
 * 127.0.0.1:port with its avro sink; stopped when the test ends.
 */
async function agent (t: Test, script: string, dir: string, port: number, { deflate = false } = {}): Promise<string> {
  const name = `dstream-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const spool = path.join(dir, 'spool')
  fs.mkdirSync(spool, { recursive: true })
  const conf = path.join(dir, `${name}.properties`)
  const a = name
  fs.writeFileSync(conf, `
${a}.sources = spool
${a}.channels = file
${a}.sinks = avro
${a}.sources.spool.type = spooldir
${a}.sources.spool.spoolDir = ${spool}
${a}.sources.spool.channels = file
${a}.sources.spool.pollDelay = 200
${a}.sources.spool.interceptors = uuid host
${a}.sources.spool.interceptors.uuid.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder
${a}.sources.spool.interceptors.host.type = static
${a}.sources.spool.interceptors.host.key = host
${a}.sources.spool.interceptors.host.value = test
${a}.channels.file.type = file
${a}.channels.file.checkpointDir = ${path.join(dir, 'checkpoint')}
${a}.channels.file.dataDirs = ${path.join(dir, 'data')}
${a}.sinks.avro.type = avro
${a}.sinks.avro.channel = file
${a}.sinks.avro.hostname = 127.0.0.1
${a}.sinks.avro.port = ${port}
${a}.sinks.avro.batch-size = 100
${a}.sinks.avro.connect-timeout = 3000
${a}.sinks.avro.request-timeout = 5000
${deflate ? `${a}.sinks.avro.compression-type = deflate\n` : ''}`)
  t.teardown(() => run(script, ['stop', name]).catch(() => {}))
  await run(script, ['start', name, conf])
  return spool
}

/** Drops a file of lines into the spooling directory, whole (written aside, then renamed in). */
function drop (spool: string, name: string, lines: string[]): void {
  const aside = path.join(spool, '..', `.${name}`)
  fs.writeFileSync(aside, lines.map(l => l + '\n').join(''))
  fs.renameSync(aside, path.join(spool, name))
}

for (const deflate of [false, true]) {
  t.test(`10,000 events from a Flume agent, headers intact${deflate ? ', compression-type = deflate' : ''}`, async t => {
    const script = flume(t)
    if (!script) return
    const dir = freshDir()
    const port = await freePort()
    const ran = live(['flume', String(port), '--interval', '200ms', '--with-headers', '--state-dir', path.join(dir, 'state')])
    await ran.waitFor(/listening on/)
    const spool = await agent(t, script, dir, port, { deflate })
    const lines = Array.from({ length: 10_000 }, (_, i) => `event ${i} ${'x'.repeat(i % 50)}`)
    drop(spool, 'events.log', lines)
    // the agent reads the file, then its sink pushes in batches of 100
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && (ran.stdout().match(/"body"/g)?.length ?? 0) < lines.length) await sleep(200)
    const out = await ran.stop()
    t.equal(out.code, 0, out.stderr)
    const records = out.records as Array<{ headers: Record<string, string>, body: string }>
    t.equal(records.length, lines.length, `the ${lines.length} events, each once`)
    t.same(records.map(r => r.body), lines, 'the bodies, in the order of the file')
    t.ok(records.every(r => r.headers.host === 'test' && /^[0-9a-f-]{36}$/.test(r.headers.id)), 'every event with its headers: host, and the UUID id')
    t.equal(new Set(records.map(r => r.headers.id)).size, lines.length, 'the ids all different')
    t.notMatch(out.stderr, /connection closed/, 'no connection refused')
  })
}

t.test('two agents pushing at once', async t => {
  const script = flume(t)
  if (!script) return
  const dir = freshDir()
  const port = await freePort()
  const ran = live(['flume', String(port), '--interval', '200ms', '--with-headers', '--state-dir', path.join(dir, 'state')])
  await ran.waitFor(/listening on/)
  const spools = await Promise.all(['a', 'b'].map(name => { fs.mkdirSync(path.join(dir, name)); return agent(t, script, path.join(dir, name), port) }))
  const lines = (name: string) => Array.from({ length: 5000 }, (_, i) => `${name} ${i}`)
  spools.forEach((spool, i) => drop(spool, 'events.log', lines('ab'[i])))
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && (ran.stdout().match(/"body"/g)?.length ?? 0) < 10_000) await sleep(200)
  const out = await ran.stop()
  t.equal(out.code, 0, out.stderr)
  const bodies = (out.records as Array<{ body: string }>).map(r => r.body)
  for (const name of ['a', 'b']) t.same(bodies.filter(b => b.startsWith(name + ' ')), lines(name), `agent ${name}'s 5000 events, once each, in its order`)
  t.equal(bodies.length, 10_000, 'and nothing else')
})

for (const withIds of [true, false]) {
  t.test(`kill -9 of the pipeline while the agent pushes: ${withIds ? 'with --id-header, every event once' : 'without it, every event at least once'}`, async t => {
    const script = flume(t)
    if (!script) return
    const seed = seedFromEnv()
    t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} replays it)`)
    const dir = freshDir()
    const port = await freePort()
    const spool = await agent(t, script, dir, port)
    // files of events dropped while the pipeline is killed and started again
    const files = 30
    const perFile = 200
    const lines = Array.from({ length: files * perFile }, (_, i) => `event ${i}`)
    let dropped = 0
    const feeder = setInterval(() => {
      if (dropped === files) return clearInterval(feeder)
      drop(spool, `events-${String(dropped).padStart(3, '0')}.log`, lines.slice(dropped * perFile, (dropped + 1) * perFile))
      dropped++
    }, 300)
    t.teardown(() => clearInterval(feeder))

    const stages = [
      ['flume', String(port), '--interval', '200ms', ...withIds ? ['--id-header', 'id'] : []],
      ['save', 'out/batch']
    ]
    const kills = withIds ? KILLS : Math.ceil(KILLS / 2)
    await crashRuns(dir, seed, kills, stages, { minMs: 800, maxMs: 4000, log: text => t.comment(text) })
    // the last run: until every event is saved, then a graceful stop
    const last = sh(`export DSTREAM_STATE_DIR=${dir}/state; cd ${dir} && dstream ${stages[0].join(' ')} | dstream ${stages[1].join(' ')}`, { timeout: 120_000 })
    const saved = () => fs.existsSync(path.join(dir, 'out')) ? fs.readdirSync(path.join(dir, 'out')).filter(f => !f.startsWith('.')).flatMap(f => fs.readFileSync(path.join(dir, 'out', f), 'utf8').split('\n').filter(Boolean)) : []
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline && (dropped < files || new Set(saved()).size < lines.length)) await sleep(300)
    await sleep(1500)
    await sh(`pkill -INT -f 'dstream flume ${port}'`)
    const ended = await last
    t.equal(ended.code, 0, ended.stderr)
    const got = saved()
    const counts = new Map<string, number>()
    for (const line of got) counts.set(line, (counts.get(line) ?? 0) + 1)
    const missing = lines.filter(l => !counts.has(l))
    t.same(missing, [], 'no event lost')
    if (withIds) {
      const twice = [...counts].filter(([, n]) => n > 1)
      t.same(twice, [], 'none saved twice')
      if (!t.passing()) t.comment(`kept the run in ${keep(seed, { run: dir })}`)
    } else {
      t.comment(`${got.length - lines.length} events saved more than once (at least once, as the man page says)`)
    }
    t.comment(`${dropped} files dropped, ${got.length} lines saved, ${kills} kills`)
  })
}
