// The server Flume's avro sinks push to: TCP, each connection's packs (framing.ts)
// read in order as Avro RPC requests (protocol.ts), each answered once its events are
// taken. A connection whose first byte is zlib's (0x78) was opened by a sink with
// compression-type = deflate: it is read through inflate and answered through deflate,
// each response flushed; one whose first byte starts a TLS handshake (0x16, ssl =
// true) is refused with a message saying so. Junk, or a connection that ends inside a
// request, closes that connection only, said on stderr naming the peer.
import net from 'node:net'
import zlib from 'node:zlib'
import { PackDecoder, encodePack } from './framing.js'
import { ProtocolError, Session, type FlumeEvent, type Status } from './protocol.js'

export interface ServerOptions {
  host: string
  port: number
  /** the events of a request: resolves with the answer (OK once they are safe; FAILED to have the sink send them again later) */
  take(events: FlumeEvent[], peer: string): Promise<Status>
  say(text: string): void
}

const ZLIB = 0x78
const TLS_HANDSHAKE = 0x16

export class FlumeServer {
  private readonly connections = new Set<net.Socket>()
  /** each connection's requests in hand: a stop waits for their answers */
  private readonly inHand = new Set<() => Promise<void>>()
  private closing = false

  private constructor (private readonly server: net.Server, private readonly o: ServerOptions) {}

  static listen (o: ServerOptions): Promise<FlumeServer> {
    return new Promise((resolve, reject) => {
      const server = net.createServer()
      const made = new FlumeServer(server, o)
      server.on('connection', socket => made.serve(socket))
      server.once('error', reject)
      server.listen(o.port, o.host, () => {
        server.off('error', reject)
        resolve(made)
      })
    })
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  /**
   * Stops taking connections and requests; those in hand are answered, then the
   * connections are ended. (A request that comes meanwhile is not read: its sink,
   * without an answer, sends it again to whoever serves next.)
   */
  async close (): Promise<void> {
    this.closing = true
    const closed = new Promise<void>(resolve => this.server.close(() => resolve()))
    await Promise.all([...this.inHand].map(idle => idle()))
    for (const socket of this.connections) socket.end()
    await closed
  }

  private serve (socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`
    this.connections.add(socket)
    socket.setNoDelay(true)
    const drop = (why: string) => {
      this.o.say(`${peer}: ${why}; connection closed`)
      socket.destroy()
    }
    socket.on('close', () => this.connections.delete(socket))
    socket.on('error', () => {}) // a peer gone: 'close' follows
    socket.once('data', (first: Buffer) => {
      if (first[0] === TLS_HANDSHAKE) return drop('the sink speaks TLS (ssl = true), which dstream flume does not: turn ssl off, or end TLS in front of it (stunnel)')
      if (first[0] !== ZLIB) {
        // the first chunk goes back in front, to be read with the rest
        socket.pause()
        this.conversation(socket, pack => { socket.write(pack) }, peer, drop)
        socket.unshift(first)
        socket.resume()
        return
      }
      const inflate = zlib.createInflate()
      const deflate = zlib.createDeflate()
      deflate.pipe(socket)
      this.conversation(inflate, pack => {
        deflate.write(pack)
        deflate.flush(zlib.constants.Z_SYNC_FLUSH)
      }, peer, drop)
      inflate.write(first)
      socket.pipe(inflate)
    })
  }

  /** The requests of one connection, one after the other, each answered in turn. */
  private conversation (input: NodeJS.ReadableStream, send: (pack: Buffer) => void, peer: string, drop: (why: string) => void): void {
    const decoder = new PackDecoder()
    const session = new Session()
    let queue = Promise.resolve()
    let closed = false
    const idle = () => queue
    this.inHand.add(idle)
    input.on('close', () => this.inHand.delete(idle))
    const ended = () => {
      if (decoder.pending > 0 && !closed) this.o.say(`${peer}: the connection ended inside a request (${decoder.pending} bytes of it); what it held was not taken`)
    }
    input.on('error', (err: NodeJS.ErrnoException) => {
      // a deflating sink that hangs up leaves its stream unfinished: that is an end, not junk
      if (err.code === 'Z_BUF_ERROR') return ended()
      closed = true
      drop(`not a stream of deflate (${err.message})`)
    })
    input.on('end', ended)
    input.on('data', (chunk: Buffer) => {
      if (closed) return
      let packs
      try {
        packs = decoder.push(chunk)
      } catch (err) {
        closed = true
        return drop(`not Avro RPC as Flume's avro sink sends it (${(err as Error).message})`)
      }
      for (const pack of packs) {
        queue = queue.then(async () => {
          if (closed || this.closing) return
          let request
          try {
            request = session.read(pack.body)
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err
            closed = true
            return drop(err.message)
          }
          const response = request.kind === 'answer' ? request.response : request.respond(await this.o.take(request.events, peer))
          if (!closed) send(encodePack(pack.serial, response))
        }).catch((err: Error) => {
          closed = true
          drop(`cannot answer (${err.message})`)
        })
      }
    })
  }
}

