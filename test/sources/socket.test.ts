import type net from 'node:net'
import t from 'tap'
import { sh } from '../helpers.js'
import { closeServer, consecutive, freePort, live, send, server, sleep } from './live.js'

t.test('cases', async t => {
  // a line split across two packets, and a partial last line
  const srv = await server(async conn => {
    await send(conn, 'a\nb\nc', 100)
    await send(conn, 'd\ne')
    conn.end()
  })
  const ran = live(['socket', `127.0.0.1:${srv.port}`, '--once', '--interval', '200ms'])
  const exited = await ran.exited
  await closeServer(srv)
  t.equal(exited.code, 0, `--once: exit 0 when the server closes ${exited.stderr}`)
  t.same(exited.records, ['a', 'b', 'cd', 'e'], "the server's lines, a split line whole, the partial last line kept")
  t.ok(consecutive(exited.batches, 200), 'aligned, one batch every interval')
  t.equal(exited.stderr, '', 'nothing said')

  const json = await server(conn => conn.end('{"n":1}\n[2]\n'))
  const parsed = live(['socket', `localhost:${json.port}`, '--once', '--json', '--interval', '200ms'])
  const got = await parsed.exited
  await closeServer(json)
  t.equal(got.code, 0, got.stderr)
  t.same(got.records, [{ n: 1 }, [2]], '--json, and a host name')
})

t.test('reconnecting', async t => {
  const port = await freePort()
  const ran = live(['socket', `127.0.0.1:${port}`, '--interval', '200ms'])
  await sleep(1500)
  t.ok(ran.running(), 'nothing listening: it does not exit')
  const said = ran.stderr().split('\n').filter(Boolean)
  t.ok(said.length >= 3, `says so once per attempt (${said.length})`)
  t.same(said.slice(0, 3), [100, 200, 400].map(ms => `dstream socket: cannot connect to 127.0.0.1:${port} (ECONNREFUSED); retrying in ${ms}ms`), 'with the reason and a growing wait')
  await ran.waitFor(/"records":\[\]/, 'stdout')
  t.pass('empty batches flow meanwhile')

  // the server appears; it closes the first connection, then serves a second
  let connections = 0
  const srv = await server(conn => {
    connections++
    conn.end(connections === 1 ? 'first\n' : 'second\n')
  }, port)
  await ran.waitFor(/"second"/, 'stdout', 8000)
  const exited = await ran.stop('SIGTERM')
  await closeServer(srv)
  t.equal(exited.code, 0, 'SIGTERM: exit 0')
  t.same(exited.records.slice(0, 2), ['first', 'second'], 'lines flow once the server is there, across reconnections')
  t.match(exited.stderr, new RegExp(`127\\.0\\.0\\.1:${port} closed the connection; retrying in 100ms`), 'a closed connection is said, and the wait is back to 100ms')
  t.ok(consecutive(exited.batches, 200), 'batches kept their clock through it all')
})

t.test('stopping', async t => {
  let held: net.Socket | undefined
  const srv = await server(conn => { held = conn; conn.write('x\npartial') })
  const ran = live(['socket', `127.0.0.1:${srv.port}`, '--interval', '5s'])
  // connected (so started, its signal handlers in place) and the lines read, however slow the machine
  for (let waited = 0; !held && waited < 15_000; waited += 100) await sleep(100)
  await sleep(500)
  const exited = await ran.stop('SIGTERM')
  held?.destroy()
  await closeServer(srv)
  t.equal(exited.code, 0, `SIGTERM while connected: exit 0 ${exited.stderr}`)
  t.same(exited.records, ['x', 'partial'], 'the open batch is closed with what was received')
})

t.test('usage errors', async t => {
  for (const address of ['localhost', '7777', 'localhost:port', 'localhost:70000', ':7777']) {
    const ran = await sh(`dstream socket ${address}`)
    t.equal(ran.code, 2, `socket ${address}: exit 2`)
    t.match(ran.stderr, /^dstream socket: .*HOST:PORT|^dstream socket: bad port/, `socket ${address}: says why`)
    t.match(ran.stderr, /\nUsage: dstream socket HOST:PORT/, `socket ${address}: and the usage`)
  }
  const missing = await sh('dstream socket')
  t.equal(missing.code, 2, 'no address: exit 2')
})
