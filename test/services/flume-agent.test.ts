// The Flume agents the Flume tests run against (scripts/flume/agent.sh): Apache Flume
// 1.11.0, its jars from Maven Central. Two real agents, Flume to Flume: a netcat source
// (with the UUID interceptor: a header `id` on every event) into a memory channel and an
// avro sink, pointing at the second agent's avro source, whose file_roll sink writes the
// events with their headers (header_and_text). 100 lines sent over TCP arrive, in order,
// each with its own id. How long an agent takes to start is printed.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { flume } from '../services.js'
import { freePort } from '../sources/live.js'

const run = promisify(execFile)

/** Sends the lines to a netcat source, one event each, and waits for its OK to each. */
function sendLines (port: number, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let answers = ''
    socket.setTimeout(30_000, () => socket.destroy(new Error(`netcat source: ${answers.split('\n').length - 1} answers of ${lines.length} in 30 s`)))
    socket.on('connect', () => socket.write(lines.map(line => line + '\n').join('')))
    socket.on('data', data => {
      answers += data.toString()
      if (answers.split('\n').length - 1 >= lines.length) {
        socket.end()
        if (answers.split('\n').slice(0, lines.length).every(answer => answer === 'OK')) resolve()
        else reject(new Error(`netcat source answered ${JSON.stringify(answers.slice(0, 200))}`))
      }
    })
    socket.on('error', reject)
  })
}

/** The lines of every file under dir (file_roll's output). */
function rolled (dir: string): string[] {
  return fs.readdirSync(dir).sort().flatMap(file => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(line => line !== ''))
}

t.test('two real Flume agents: netcat → memory → avro sink → avro source → file_roll', async t => {
  const agent = flume(t)
  if (!agent) return
  const agents = path.join(process.env.FLUME_HOME ?? path.resolve(path.dirname(agent), '..', '..', '.flume'), 'agents')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-flume-'))
  const out = path.join(dir, 'out')
  fs.mkdirSync(out)
  const [netcatPort, avroPort] = [await freePort(), await freePort()]
  const upstream = `test-${process.pid}-netcat`
  const downstream = `test-${process.pid}-avro`
  const started: string[] = []
  t.teardown(async () => {
    for (const name of started.reverse()) await run(agent, ['stop', name]).catch(() => {})
    if (t.passing()) {
      for (const name of started) fs.rmSync(path.join(agents, name), { recursive: true, force: true })
      fs.rmSync(dir, { recursive: true, force: true })
    } else {
      t.comment(`kept ${dir} and the agents' logs in ${agents}`)
    }
  })
  const start = async (name: string, conf: string): Promise<number> => {
    const file = path.join(dir, `${name}.properties`)
    fs.writeFileSync(file, conf)
    const begun = Date.now()
    started.push(name)
    const { stdout } = await run(agent, ['start', name, file])
    t.match(stdout, new RegExp(`flume: agent ${name} started`), `agent ${name} started`)
    return Date.now() - begun
  }

  const second = await start(downstream, `
${downstream}.sources = avro
${downstream}.channels = mem
${downstream}.sinks = files
${downstream}.sources.avro.type = avro
${downstream}.sources.avro.bind = 127.0.0.1
${downstream}.sources.avro.port = ${avroPort}
${downstream}.sources.avro.channels = mem
${downstream}.channels.mem.type = memory
${downstream}.channels.mem.capacity = 1000
${downstream}.sinks.files.type = file_roll
${downstream}.sinks.files.channel = mem
${downstream}.sinks.files.sink.directory = ${out}
${downstream}.sinks.files.sink.rollInterval = 0
${downstream}.sinks.files.sink.serializer = header_and_text
`)
  const first = await start(upstream, `
${upstream}.sources = netcat
${upstream}.channels = mem
${upstream}.sinks = hop
${upstream}.sources.netcat.type = netcat
${upstream}.sources.netcat.bind = 127.0.0.1
${upstream}.sources.netcat.port = ${netcatPort}
${upstream}.sources.netcat.channels = mem
${upstream}.sources.netcat.interceptors = uuid
${upstream}.sources.netcat.interceptors.uuid.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder
${upstream}.channels.mem.type = memory
${upstream}.channels.mem.capacity = 1000
${upstream}.sinks.hop.type = avro
${upstream}.sinks.hop.channel = mem
${upstream}.sinks.hop.hostname = 127.0.0.1
${upstream}.sinks.hop.port = ${avroPort}
`)
  t.comment(`a Flume agent starts in ${second} ms (avro source, file_roll sink), ${first} ms (netcat source, avro sink)`)
  const status = await run(agent, ['status', upstream])
  t.match(status.stdout, /running \(pid \d+\)/, 'status says it runs')

  const lines = Array.from({ length: 100 }, (_, i) => `line ${i} of the flume test`)
  await sendLines(netcatPort, lines)
  // each idle sink backs off up to 5 s (Flume's SinkRunner): two hops, 10 s at worst
  const deadline = Date.now() + 60_000
  while (rolled(out).length < lines.length && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
  const got = rolled(out)
  t.equal(got.length, lines.length, `the ${lines.length} lines reached file_roll through both agents`)
  const parsed = got.map(line => /^\{id=([0-9a-f-]{36})\} (.*)$/.exec(line))
  t.ok(parsed.every(match => match !== null), 'every event has a header id, a UUID (header_and_text: {id=...} body)')
  t.same(parsed.map(match => match?.[2]), lines, 'the bodies, in the order sent')
  t.equal(new Set(parsed.map(match => match?.[1])).size, lines.length, 'every id is different')

  for (const name of [upstream, downstream]) {
    await run(agent, ['stop', name])
    const after = await run(agent, ['status', name]).then(() => 0, (error: { code?: number }) => error.code ?? -1)
    t.equal(after, 1, `agent ${name} stopped (status exits 1)`)
  }
})
