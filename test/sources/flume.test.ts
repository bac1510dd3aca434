// dstream flume: the framing byte by byte, the protocol spoken by a client written from
// Avro's specification (test/flumeClient.ts), deflate, refusals, junk, acknowledgement
// only once logged, replay after a crash, and the drop of events sent again. The real
// Flume agent's tests are in test/e2e/flume.test.ts.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import { FramingError, MAX_PACK_BYTES, PackDecoder, encodePack } from '../../lib/systems/flume/framing.js'
import { Client, appendBatch, pack } from '../flumeClient.js'
import { freshDir, sh } from '../helpers.js'
import { freePort, live, sleep } from './live.js'

const LISTENING = /dstream flume: listening on 127\.0\.0\.1:(\d+)/

/** dstream flume on a free port, with its state directory; its port once it listens. */
async function started (args: string[], state = freshDir()) {
  const ran = live(['flume', '0', '--interval', '200ms', '--state-dir', state, ...args])
  const port = Number((await ran.waitFor(LISTENING))[1])
  return { ran, port, state }
}

t.test('framing, byte by byte', async t => {
  const one = pack(7, Buffer.from('hello '), Buffer.from('world'))
  t.same([...one.subarray(0, 8)], [0, 0, 0, 7, 0, 0, 0, 2], 'serial, then the number of buffers, big-endian')
  t.same([...one.subarray(8, 12)], [0, 0, 0, 6], 'each buffer after its length')
  const whole = new PackDecoder().push(one)
  t.same(whole.map(p => [p.serial, p.body.toString()]), [[7, 'hello world']], "a pack's buffers put together")

  // the same bytes in every cut: one at a time
  const decoder = new PackDecoder()
  const packs = []
  const two = Buffer.concat([one, pack(8, Buffer.from('x')), pack(9)])
  for (let i = 0; i < two.length; i++) packs.push(...decoder.push(two.subarray(i, i + 1)))
  t.same(packs.map(p => [p.serial, p.body.toString()]), [[7, 'hello world'], [8, 'x'], [9, '']], 'byte by byte, three packs (one empty)')
  t.equal(decoder.pending, 0, 'nothing held after them')
  const half = new PackDecoder()
  half.push(one.subarray(0, 13))
  t.equal(half.pending, 13, 'a truncated pack is held, and counted')

  t.same([...encodePack(3, Buffer.from([1, 2]))], [0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2], 'a response: one buffer')
  t.throws(() => new PackDecoder().push(Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])), new FramingError('a pack of -1 buffers (serial 1)'), 'a negative count is junk')
  const huge = Buffer.alloc(12)
  huge.writeInt32BE(1, 4)
  huge.writeInt32BE(MAX_PACK_BYTES + 1, 8)
  t.throws(() => new PackDecoder().push(huge), new FramingError(`a buffer of ${MAX_PACK_BYTES + 1} bytes in pack 0`), 'a buffer larger than any sink sends is junk, not held')
})

t.test('events in, records out: the handshake, appendBatch, headers, deflate', async t => {
  const { ran, port } = await started(['--with-headers'])
  const plain = new Client(port)
  t.equal(await plain.appendBatch([{ headers: { host: 'a' }, body: 'one' }, { body: 'two' }]), 'OK', 'answered OK (after a handshake NONE, then BOTH)')
  t.equal(await plain.appendBatch([{ body: 'three' }]), 'OK', 'a second request, no handshake')
  const deflate = new Client(port, { compress: true })
  t.equal(await deflate.appendBatch([{ headers: { z: '1' }, body: 'deflated' }]), 'OK', 'a deflating client (compression-type = deflate)')
  plain.end()
  deflate.end()
  await sleep(300)
  const out = await ran.stop('SIGINT')
  t.equal(out.code, 0, out.stderr)
  t.same(out.records, [{ headers: { host: 'a' }, body: 'one' }, { headers: {}, body: 'two' }, { headers: {}, body: 'three' }, { headers: { z: '1' }, body: 'deflated' }], 'every event, in order, headers intact')
  t.ok(out.batches.every(b => b.interval === 200 && b.time % 200 === 0), 'epoch-aligned batches of --interval')
  t.notMatch(out.stderr, /connection closed/, 'no connection refused')
})

t.test('--json parses the bodies; a body that is not JSON is bad input', async t => {
  const state = freshDir()
  const { ran, port } = await started(['--json'], state)
  const client = new Client(port)
  t.equal(await client.appendBatch([{ body: '{"n":1}' }, { body: '[2]' }, { body: 'not json' }]), 'OK', 'answered: it is logged')
  const out = await ran.exited
  t.equal(out.code, 65, 'then exit 65')
  t.match(out.stderr, /dstream flume: batch \d+: the body is not JSON .*: "not json"/, 'naming the batch and the body')
  // the logged events come again with the next run; the bad one set aside this time
  const again = await started(['--json', '--on-bad-input', 'skip'], state)
  const rest = await again.ran.stop()
  t.equal(rest.code, 0, rest.stderr)
  t.same(rest.records, [{ n: 1 }, [2]], 'nothing lost: the good events of that batch, from the log')
  t.match(rest.stderr, /1 input set aside/, 'the bad one set aside')
})

t.test("--event-time from a header: batches by the events' own time", async t => {
  const { ran, port } = await started(['--with-headers', '--event-time', '_ => Number(_.headers.timestamp)', '--watermark', '1s'])
  const client = new Client(port)
  const at = (ms: number, body: string) => ({ headers: { timestamp: String(ms) }, body })
  t.equal(await client.appendBatch([at(1_000_100, 'a'), at(1_000_500, 'b'), at(1_000_250, 'c'), at(1_003_000, 'd')]), 'OK')
  client.end()
  await sleep(300)
  const out = await ran.stop()
  t.equal(out.code, 0, out.stderr)
  const batches = out.batches.filter(b => b.records.length > 0).map(b => [b.time, (b.records as Array<{ body: string }>).map(r => r.body)])
  t.same(batches, [[1_000_200, ['a']], [1_000_400, ['c']], [1_000_600, ['b']], [1_003_200, ['d']]], 'each event in the batch of its timestamp (200 ms intervals)')
})

t.test('refusals: TLS, junk, truncated requests; the others are served on', async t => {
  const { ran, port } = await started([])
  const good = new Client(port)
  t.equal(await good.appendBatch([{ body: 'before' }]), 'OK')

  const tls = new Client(port)
  tls.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]))
  await tls.closed
  t.match(ran.stderr(), /127\.0\.0\.1:\d+: the sink speaks TLS \(ssl = true\), which dstream flume does not.*; connection closed/, 'TLS is refused, saying so')

  const junk = new Client(port)
  junk.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  await junk.closed
  t.match(ran.stderr(), /127\.0\.0\.1:\d+: not Avro RPC as Flume's avro sink sends it \(a pack of \d+ buffers/, 'junk closes its connection, naming the peer')

  const wrong = new Client(port)
  const request = appendBatch([{ body: 'x' }], { protocol: false })
  wrong.write(pack(0, request.subarray(0, 10)))
  await wrong.closed
  t.match(ran.stderr(), /the request ends inside its handshake; connection closed/, 'a pack that holds half a request')

  const cut = new Client(port)
  cut.write(pack(0, appendBatch([{ body: 'lost' }], { protocol: true })).subarray(0, 30))
  await sleep(100)
  cut.end()
  await cut.closed
  await sleep(100)
  t.match(ran.stderr(), /the connection ended inside a request \(\d+ bytes of it\); what it held was not taken/, 'a truncated request is said')

  t.equal(await good.appendBatch([{ body: 'after' }]), 'OK', 'the good client is served throughout')
  const other = new Client(port)
  t.equal(await other.appendBatch([{ body: 'another' }]), 'OK', 'and new ones')
  good.end()
  other.end()
  await sleep(300)
  const out = await ran.stop()
  t.equal(out.code, 0)
  t.same(out.records, ['before', 'after', 'another'], 'only what the good clients sent')
})

t.test('two clients at once', async t => {
  const { ran, port } = await started([])
  const clients = [new Client(port), new Client(port)]
  await Promise.all(clients.map(async (c, i) => {
    for (let b = 0; b < 20; b++) await c.appendBatch(Array.from({ length: 50 }, (_, k) => ({ body: `${i}-${b}-${k}` })))
    c.end()
  }))
  await sleep(300)
  const out = await ran.stop()
  t.equal(out.records.length, 2000, 'every event of both')
  for (const i of [0, 1]) {
    const mine = out.records.filter(r => (r as string).startsWith(`${i}-`))
    t.same(mine, Array.from({ length: 1000 }, (_, n) => `${i}-${Math.floor(n / 50)}-${n % 50}`), `client ${i}'s in its order`)
  }
})

t.test('acknowledged once logged: kill -9 and start again; events sent again are dropped with --id-header', async t => {
  const state = freshDir()
  const out = path.join(freshDir(), 'out')
  const pipeline = (port: number) => sh(`dstream flume ${port} --interval 200ms --id-header id --state-dir ${state} | dstream save ${out}/b --state-dir ${state}`, { timeout: 20_000 })
  const port = await freePort()
  const first = pipeline(port)
  await waitForPort(port)
  const client = new Client(port)
  const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ headers: { id: `e${from + i}` }, body: `event ${from + i}` }))
  t.equal(await client.appendBatch(events(0, 100)), 'OK')
  t.equal(await client.appendBatch(events(100, 100)), 'OK')
  // killed outright, with batches maybe not saved yet
  await sh(`pkill -9 -f 'dstream flume ${port}'`)
  await first
  t.ok(fs.readFileSync(path.join(state, fs.readdirSync(state).find(n => n.startsWith('flume-'))!, 'ids.log'), 'utf8').includes('e199\n'), 'the ids were kept before the answers went')

  const second = pipeline(port)
  await waitForPort(port)
  const again = new Client(port)
  // a sink that did not see the answers sends the same events again, and more
  t.equal(await again.appendBatch(events(100, 150)), 'OK', 'the same events again, and new ones')
  again.end()
  await sleep(500)
  await sh(`pkill -INT -f 'dstream flume ${port}'`)
  const ended = await second
  t.equal(ended.code, 0, ended.stderr)
  const saved = fs.readdirSync(out).filter(f => !f.startsWith('.')).sort().flatMap(f => fs.readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean))
  t.same(saved.sort(), events(0, 250).map(e => e.body).sort(), 'every event once: the logged ones replayed, those sent again dropped')
})

t.test('backpressure: behind by --max-pending, a request is answered FAILED and not logged', async t => {
  const state = freshDir()
  // a sink that does not read: the pipe fills, the source waits
  const ran = live(['flume', '0', '--interval', '100ms', '--max-pending', '1000', '--state-dir', state], { stdin: 'ignore' })
  const port = Number((await ran.waitFor(LISTENING))[1])
  ran.child.stdout!.pause()
  const client = new Client(port)
  const big = 'x'.repeat(2000)
  const statuses: string[] = []
  for (let i = 0; i < 200 && !statuses.includes('FAILED'); i++) statuses.push(await client.appendBatch(Array.from({ length: 100 }, () => ({ body: big }))))
  t.ok(statuses.includes('FAILED'), `FAILED once the pipeline is behind (after ${statuses.length} requests)`)
  t.match(ran.stderr(), /the pipeline is \d+ events behind \(--max-pending 1000\): answering FAILED/, 'and said')
  client.end()
  ran.child.stdout!.resume()
  const out = await ran.stop()
  t.equal(out.records.length, statuses.filter(s => s === 'OK').length * 100, 'every event answered OK is in the stream, none answered FAILED')
})

t.test('usage', async t => {
  const taken = net.createServer().listen(0, '127.0.0.1')
  await new Promise(resolve => taken.once('listening', resolve))
  const port = (taken.address() as net.AddressInfo).port
  const busy = await sh(`dstream flume ${port}`)
  t.equal(busy.code, 1, 'a port in use: exit 1')
  t.match(busy.stderr, /cannot listen on 127\.0\.0\.1:\d+: the port is in use/)
  taken.close()
  for (const args of ['', 'host:', '--remember 0 4545', '--max-pending x 4545']) {
    const bad = await sh(`dstream flume ${args}`)
    t.equal(bad.code, 2, `dstream flume ${args}: exit 2`)
    t.match(bad.stderr, /Usage: dstream flume/)
  }
})

async function waitForPort (port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>(resolve => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => { s.end(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`nothing listens on ${port}`)
}
