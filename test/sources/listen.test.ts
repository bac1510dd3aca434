import os from 'node:os'
import t from 'tap'
import { sh } from '../helpers.js'
import { closeServer, connect, consecutive, live, send, server, sleep } from './live.js'

const LISTENING = /^dstream listen: listening on 127\.0\.0\.1:(\d+)\n/

t.test('cases', async t => {
  const ran = live(['listen', '0', '--interval', '200ms'])
  const port = Number((await ran.waitFor(LISTENING))[1])
  t.ok(port > 0, 'says where it listens, with the real port')

  const one = await connect(port)
  const two = await connect(port)
  await send(one, 'a1\na')
  await send(two, 'b1\n')
  await send(one, '2\n')               // the rest of a line split across packets
  await send(two, 'b2\nb-partial')     // a partial last line ...
  two.end()                            // ... kept when the client leaves
  await send(one, 'a3\n')
  const three = await connect(port)    // clients come and go
  await send(three, 'c1\n')
  three.end()
  await send(one, 'open-partial')      // kept on stop too
  await sleep(400)
  const exited = await ran.stop('SIGTERM')
  one.destroy()
  t.equal(exited.code, 0, `SIGTERM: exit 0 ${exited.stderr}`)
  const records = exited.records as string[]
  t.same([...records].sort(), ['a1', 'a2', 'a3', 'b-partial', 'b1', 'b2', 'c1', 'open-partial'], 'the lines of every client, in the same stream')
  t.same(records.filter(r => r.startsWith('a')), ['a1', 'a2', 'a3'], "one client's lines in their order")
  t.same(records.filter(r => r.startsWith('b')), ['b1', 'b2', 'b-partial'], "the other's too")
  t.ok(exited.batches.length >= 3 && consecutive(exited.batches, 200), 'aligned, one batch every interval')
  t.equal(exited.stderr.replace(LISTENING, ''), '', 'nothing else said')
})

t.test('binding', async t => {
  const ran = live(['listen', '0', '--interval', '200ms', '--json'])
  const port = Number((await ran.waitFor(LISTENING))[1])
  const outside = Object.values(os.networkInterfaces()).flat().find(i => i && i.family === 'IPv4' && !i.internal)
  if (outside) {
    await t.rejects(connect(port, outside.address), { code: 'ECONNREFUSED' }, `not reachable on ${outside.address}: bound to 127.0.0.1 only`)
  }
  const client = await connect(port)
  client.end('{"n":1}\n')
  await ran.waitFor(/\{"n":1\}/, 'stdout')
  const exited = await ran.stop('SIGINT')
  t.equal(exited.code, 0, 'SIGINT: exit 0')
  t.same(exited.records, [{ n: 1 }], '--json')

  const any = live(['listen', '0.0.0.0:0', '--interval', '200ms'])
  await any.waitFor(/^dstream listen: listening on 0\.0\.0\.0:\d+\n/)
  t.pass('binds another address when told')
  await any.stop()
})

t.test('errors', async t => {
  const taken = await server(() => {})
  const ran = await sh(`dstream listen ${taken.port}`)
  await closeServer(taken)
  t.equal(ran.code, 1, 'a port in use: exit 1')
  t.equal(ran.stderr, `dstream listen: cannot listen on 127.0.0.1:${taken.port}: the port is in use (EADDRINUSE)\n`, 'says so')
  t.equal(ran.stdout, '', 'no output')

  for (const address of ['', 'port', '70000', 'host:']) {
    const bad = await sh(`dstream listen ${address}`)
    t.equal(bad.code, 2, `listen ${address}: exit 2`)
    t.match(bad.stderr, /^dstream listen: .*\nUsage: dstream listen \[HOST:\]PORT/, `listen ${address}: the reason and the usage`)
  }
  const interval = await sh('dstream listen 0 --interval 0')
  t.equal(interval.code, 2, 'a bad interval: exit 2')
})
