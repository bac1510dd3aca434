// A small Avro RPC client of Flume's AvroSourceProtocol, written from the protocol's
// description (Avro's specification, avro-ipc-netty's framing), for the tests of
// `dstream flume` that need to send exactly some bytes: the handshake, appendBatch,
// deflate, junk. The real Flume agent is used by the tests too (scripts/flume/agent.sh).
import { createHash } from 'node:crypto'
import net from 'node:net'
import zlib from 'node:zlib'
import avro from 'avsc'

export const CLIENT_PROTOCOL = JSON.stringify({
  protocol: 'AvroSourceProtocol',
  namespace: 'org.apache.flume.source.avro',
  doc: 'the client side of the tests',
  types: [
    { type: 'enum', name: 'Status', symbols: ['OK', 'FAILED', 'UNKNOWN'] },
    { type: 'record', name: 'AvroFlumeEvent', fields: [{ name: 'headers', type: { type: 'map', values: 'string' } }, { name: 'body', type: 'bytes' }] }
  ],
  messages: {
    append: { request: [{ name: 'event', type: 'AvroFlumeEvent' }], response: 'Status' },
    appendBatch: { request: [{ name: 'events', type: { type: 'array', items: 'AvroFlumeEvent' } }], response: 'Status' }
  }
})
const CLIENT_HASH = createHash('md5').update(CLIENT_PROTOCOL).digest()

const MD5 = { type: 'fixed', name: 'MD5', size: 16 }
export const HandshakeRequest = avro.Type.forSchema({
  type: 'record',
  name: 'HandshakeRequest',
  fields: [
    { name: 'clientHash', type: MD5 },
    { name: 'clientProtocol', type: ['null', 'string'] },
    { name: 'serverHash', type: 'MD5' },
    { name: 'meta', type: ['null', { type: 'map', values: 'bytes' }] }
  ]
} as any)
export const HandshakeResponse = avro.Type.forSchema({
  type: 'record',
  name: 'HandshakeResponse',
  fields: [
    { name: 'match', type: { type: 'enum', name: 'HandshakeMatch', symbols: ['BOTH', 'CLIENT', 'NONE'] } },
    { name: 'serverProtocol', type: ['null', 'string'] },
    { name: 'serverHash', type: ['null', MD5] },
    { name: 'meta', type: ['null', { type: 'map', values: 'bytes' }] }
  ]
} as any)
const Meta = avro.Type.forSchema({ type: 'map', values: 'bytes' })
const Str = avro.Type.forSchema('string')
const Bool = avro.Type.forSchema('boolean')
const Status = avro.Type.forSchema({ type: 'enum', name: 'Status', symbols: ['OK', 'FAILED', 'UNKNOWN'] })
const Events = avro.Type.forSchema({ type: 'array', items: { type: 'record', name: 'AvroFlumeEvent', fields: [{ name: 'headers', type: { type: 'map', values: 'string' } }, { name: 'body', type: 'bytes' }] } })

export interface Event { headers?: Record<string, string>, body: string | Buffer }

/** A pack of Avro's Netty framing: serial, the number of buffers, each with its length. */
export function pack (serial: number, ...buffers: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(8)]
  parts[0].writeInt32BE(serial, 0)
  parts[0].writeInt32BE(buffers.length, 4)
  for (const b of buffers) {
    const length = Buffer.alloc(4)
    length.writeInt32BE(b.length, 0)
    parts.push(length, b)
  }
  return Buffer.concat(parts)
}

/** The body of an appendBatch request, with a handshake in front when given one. */
export function appendBatch (events: Event[], handshake?: { protocol: boolean, serverHash?: Buffer }): Buffer {
  const parts: Buffer[] = []
  if (handshake) {
    parts.push(HandshakeRequest.toBuffer({
      clientHash: CLIENT_HASH,
      clientProtocol: handshake.protocol ? CLIENT_PROTOCOL : null,
      serverHash: handshake.serverHash ?? CLIENT_HASH,
      meta: null
    }))
  }
  parts.push(Meta.toBuffer({}), Str.toBuffer('appendBatch'), Events.toBuffer(events.map(e => ({ headers: e.headers ?? {}, body: Buffer.from(e.body) }))))
  return Buffer.concat(parts)
}

export interface Response { serial: number, handshake?: { match: string, serverHash: Buffer | null, serverProtocol: string | null }, status?: string, error?: string }

/** A client connection: requests sent whole, responses read as packs. */
export class Client {
  private readonly socket: net.Socket
  private readonly responses: Buffer[] = []
  private waiting: (() => void) | undefined
  private readonly deflate?: zlib.Deflate
  private held = Buffer.alloc(0)
  private serial = 0
  /** whether the handshake has been done on this connection */
  private connected = false
  private serverHash: Buffer | undefined
  closed: Promise<void>

  constructor (port: number, { compress = false }: { compress?: boolean } = {}) {
    this.socket = net.connect({ host: '127.0.0.1', port })
    this.closed = new Promise(resolve => this.socket.on('close', () => resolve()))
    this.socket.on('error', () => {})
    const input: NodeJS.ReadableStream = compress ? this.socket.pipe(zlib.createInflate().on('error', () => {})) : this.socket
    if (compress) {
      this.deflate = zlib.createDeflate()
      this.deflate.pipe(this.socket)
    }
    input.on('data', (chunk: Buffer) => {
      this.held = Buffer.concat([this.held, chunk])
      this.readPacks()
    })
  }

  /** Raw bytes, as they are (junk, truncated packs). */
  write (bytes: Buffer): void {
    if (this.deflate) { this.deflate.write(bytes); this.deflate.flush(zlib.constants.Z_SYNC_FLUSH) } else this.socket.write(bytes)
  }

  end (): void { this.socket.end() }

  /** appendBatch, with the handshake a Java client makes: its hash alone first, its protocol when asked. */
  async appendBatch (events: Event[]): Promise<string> {
    for (;;) {
      const handshake = this.connected ? undefined : { protocol: this.serverHash !== undefined, serverHash: this.serverHash }
      const response = await this.call(appendBatch(events, handshake), handshake !== undefined)
      if (response.handshake) {
        if (response.handshake.match === 'NONE') { this.serverHash = response.handshake.serverHash!; continue }
        this.connected = true
      }
      if (response.error) throw new Error(response.error)
      return response.status!
    }
  }

  /** Sends one request, waits for its response. */
  async call (body: Buffer, withHandshake: boolean): Promise<Response> {
    const serial = this.serial++
    this.write(pack(serial, body))
    const raw = await this.next()
    const got = raw.readInt32BE(0)
    const count = raw.readInt32BE(4)
    let pos = 8
    const parts: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const n = raw.readInt32BE(pos)
      parts.push(raw.subarray(pos + 4, pos + 4 + n))
      pos += 4 + n
    }
    const b = Buffer.concat(parts)
    let at = 0
    const read = (type: avro.Type) => { const r = type.decode(b, at); at = r.offset; return r.value }
    const response: Response = { serial: got }
    if (withHandshake) {
      response.handshake = read(HandshakeResponse)
      if (response.handshake!.match === 'NONE') return response
    }
    read(Meta)
    if (read(Bool)) response.error = String(read(avro.Type.forSchema(['string'])))
    else response.status = read(Status)
    return response
  }

  private readPacks (): void {
    for (;;) {
      if (this.held.length < 8) return
      const count = this.held.readInt32BE(4)
      let pos = 8
      for (let i = 0; i < count; i++) {
        if (this.held.length < pos + 4) return
        pos += 4 + this.held.readInt32BE(pos)
        if (this.held.length < pos) return
      }
      this.responses.push(this.held.subarray(0, pos))
      this.held = this.held.subarray(pos)
      this.waiting?.()
    }
  }

  private next (): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const r = this.responses.shift()
        if (r) { this.waiting = undefined; resolve(r) }
      }
      this.waiting = check
      this.closed.then(() => reject(new Error('the connection closed before the response')))
      check()
    })
  }
}
