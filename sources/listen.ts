// Spark: push-based receivers (a custom Receiver that accepts connections). Spark
// has no built-in line server; this one binds 127.0.0.1 unless told otherwise.
import net from 'node:net'
import { RuntimeError, usage } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { formatAddress, parseAddress } from '../lib/intake/address.js'
import { openIntake, type Intake } from '../lib/intake/lineIntake.js'
import { INTERVAL_OPTION, LINE_OPTIONS, WAL_AND_EVENT_TIME_TEXT, type LineSourceOptions } from '../lib/intake/options.js'
import { feedSocket, type SocketLines } from '../lib/intake/socketLines.js'
import { stopSignal } from '../lib/intake/stop.js'

interface ListenOptions extends LineSourceOptions {
  address: string
}

const listen: SourceDefinition<ListenOptions> = {
  kind: 'source',
  name: 'listen',
  spark: 'push receivers',
  group: 'sources',
  summary: 'lines pushed by TCP clients',
  description: `
Listens on PORT and accepts any number of TCP clients, each pushing lines; the
lines of all clients go into the same batches of --interval, by processing time,
in the order they arrive. Every interval emits a batch, empty while no one
writes. A line split across packets is one line; a client's partial last line is
kept when it disconnects.

It binds 127.0.0.1, so only this machine can connect, unless a HOST is given
(0.0.0.0 or :: for every interface). When listening it says where on stderr,
with the real port when PORT is 0 (the system picks a free one):

  dstream listen: listening on 127.0.0.1:9999

It runs until SIGINT or SIGTERM: then it stops accepting, keeps what the clients
sent, closes the open batch and exits 0. A port already in use (or not allowed)
is exit 1.` + WAL_AND_EVENT_TIME_TEXT,
  positionals: [{ name: '[HOST:]PORT', key: 'address', describe: 'where to listen: 9999, 0.0.0.0:9999, [::1]:9999; 0 picks a free port' }],
  options: { ...INTERVAL_OPTION, ...LINE_OPTIONS },
  examples: [
    { command: 'listen 9999 --interval 5s | dstream print', describe: 'what clients such as `echo hi | nc localhost 9999` push, every 5 seconds' },
    { command: 'listen 0.0.0.0:5140 --json | dstream map _.level', describe: 'JSON lines from other machines too' }
  ],
  async start (opts, ctx, io) {
    const address = parseAddress(opts.address, { defaultHost: '127.0.0.1', allowZero: true })
    if (typeof address === 'string') throw usage(listen, address)
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(address.port, address.host, () => { server.off('error', reject); resolve() })
    }).catch(err => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : 'failed'
      throw new RuntimeError(`dstream listen: cannot listen on ${formatAddress(address)}: ${why} (${err.code ?? err.message})`)
    })
    let intake: Intake
    try {
      intake = await openIntake(opts, listen, ctx, io)
    } catch (err) {
      server.close()
      throw err
    }
    const bound = server.address() as net.AddressInfo
    ctx.stderr(`dstream listen: listening on ${formatAddress({ host: bound.address, port: bound.port })}\n`)

    const clients = new Set<SocketLines>()
    let fail!: (err: unknown) => void
    const failed = new Promise<never>((_resolve, reject) => { fail = reject })
    server.on('connection', conn => {
      const client = feedSocket(conn, intake)
      clients.add(client)
      client.done.then(() => clients.delete(client), fail)
    })
    server.on('error', fail)

    const { stopped, stop } = stopSignal()
    const serve = async () => {
      try {
        await Promise.race([stopped, failed])
        // graceful stop: no new clients; what the open ones sent is kept
        server.close()
        const open = [...clients]
        for (const client of open) client.end()
        await Promise.race([Promise.all(open.map(c => c.done)), failed])
      } finally {
        server.close()
        for (const client of clients) client.end()
        await intake.close()
      }
    }
    return { done: serve(), stop }
  }
}

export default listen
