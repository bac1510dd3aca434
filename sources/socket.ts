// Spark: StreamingContext.socketTextStream(host, port). Spark's receiver restarts
// after a fixed delay when the connection fails; here the delay backs off
// (100 ms doubling to 5 s) and empty batches keep flowing meanwhile. --once is ours.
import net from 'node:net'
import { RuntimeError, usage } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { formatAddress, parseAddress, type Address } from '../lib/intake/address.js'
import { Backoff, errorCode, formatDelay } from '../lib/core/backoff.js'
import { openIntake } from '../lib/intake/lineIntake.js'
import { INTERVAL_OPTION, LINE_OPTIONS, WAL_AND_EVENT_TIME_TEXT, type LineSourceOptions } from '../lib/intake/options.js'
import { feedSocket, type SocketLines } from '../lib/intake/socketLines.js'
import { pause, stopSignal } from '../lib/intake/stop.js'

interface SocketOptions extends LineSourceOptions {
  address: string
  once: boolean
}

/** A connect that never answers (a dropped SYN) counts as a failed attempt after this long. */
const CONNECT_TIMEOUT = 5000

const socket: SourceDefinition<SocketOptions> = {
  kind: 'source',
  name: 'socket',
  spark: 'socketTextStream',
  group: 'sources',
  summary: 'lines read from a TCP server, reconnecting',
  description: `
Connects to the TCP server at HOST:PORT and emits the lines it sends as batches
of --interval, by processing time, like batch does with stdin: times aligned to
the epoch, an empty batch every interval while the server is quiet.

When the server cannot be reached, or closes or drops the connection, socket
keeps emitting empty batches, says so on stderr once per attempt with the wait
before the next, and tries again: after 100ms, then twice as long each time up
to 5s; the wait goes back to 100ms once a connection is made. It never exits on
its own, so a pipeline outlives restarts of the server:

  dstream socket: cannot connect to localhost:7777 (ECONNREFUSED); retrying in 2s

A partial last line is kept when the connection ends. With --once, socket ends
when the server closes the connection: the open batch is closed and the command
exits 0 (1 if the connection was broken by an error); until the first connection
it still retries. On SIGINT or SIGTERM the open batch is closed and it exits 0.` + WAL_AND_EVENT_TIME_TEXT,
  positionals: [{ name: 'HOST:PORT', key: 'address', describe: 'the server to read from: localhost:9999, [::1]:9999' }],
  options: {
    ...INTERVAL_OPTION,
    ...LINE_OPTIONS,
    once: { type: 'boolean', default: false, describe: 'end when the server closes the connection, instead of reconnecting' }
  },
  examples: [
    { command: "socket localhost:9999 --interval 5s | dstream flat-map '_.split(\" \")'", describe: 'the words typed into `nc -lk 9999`, in 5-second batches' },
    { command: "socket localhost:7777 | dstream filter '_.includes(\"error\")' | dstream print", describe: 'the error lines of a server, every second' }
  ],
  async start (opts, ctx, io) {
    const address = parseAddress(opts.address)
    if (typeof address === 'string') throw usage(socket, address)
    const where = formatAddress(address)
    const intake = await openIntake(opts, socket, ctx, io)
    const { stopped, stop } = stopSignal()
    let halted = false
    let connection: SocketLines | undefined
    const backoff = new Backoff()
    const retry = async (what: string) => {
      const delay = backoff.next()
      ctx.stderr(`dstream socket: ${what}; retrying in ${formatDelay(delay)}\n`)
      await pause(delay, stopped)
    }
    const read = async () => {
      while (!halted) {
        const conn = await connect(address, stopped)
        if (halted) break
        if (!(conn instanceof net.Socket)) { await retry(`cannot connect to ${where} (${errorCode(conn)})`); continue }
        backoff.reset()
        connection = feedSocket(conn, intake)
        const failure = await connection.done
        connection = undefined
        if (halted) break
        if (opts.once) {
          if (failure) throw new RuntimeError(`dstream socket: connection to ${where} lost (${errorCode(failure)})`)
          break
        }
        await retry(failure ? `connection to ${where} lost (${errorCode(failure)})` : `${where} closed the connection`)
      }
    }
    const done = read().finally(() => intake.close())
    return {
      done,
      stop () {
        halted = true
        stop()
        connection?.end()
      }
    }
  }
}

/** A connected socket, the error that prevented it, or undefined when stopped first. */
function connect ({ host, port }: Address, stopped: Promise<void>): Promise<net.Socket | Error | undefined> {
  return new Promise(resolve => {
    const conn = net.connect({ host, port })
    conn.setTimeout(CONNECT_TIMEOUT, () => conn.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    let settled = false
    const settle = (result: net.Socket | Error | undefined) => {
      if (settled) return
      settled = true
      conn.removeAllListeners('connect').removeAllListeners('error')
      conn.setTimeout(0)
      resolve(result)
    }
    conn.once('connect', () => settle(conn))
    conn.once('error', err => settle(err))
    stopped.then(() => { if (!settled) { conn.destroy(); settle(undefined) } })
  })
}

export default socket
