// Avro RPC as Flume's avro sink speaks it (Avro's Requestor and Responder), the
// server's side of one connection, encoded with avsc. A request is
//
//   [HandshakeRequest, first request of a connection only] | call metadata map<bytes> |
//   message name string | the message's parameters
//
// and its response
//
//   [HandshakeResponse, when the request had a handshake] | metadata map<bytes> |
//   boolean error | the response (error: a union of string and the declared errors)
//
// The protocol is Flume's AvroSourceProtocol: append(AvroFlumeEvent) and
// appendBatch(array<AvroFlumeEvent>), each answering a Status. At its first request a
// client names its protocol by an MD5 hash only; the server that does not know that
// hash answers NONE with its own protocol and hash, and the client asks again with its
// protocol's text (then BOTH): one more round trip per connection, and no need to
// know the exact text a Java client hashes.
import { createHash } from 'node:crypto'
import avro from 'avsc'

/** Flume's AvroSourceProtocol (flume-ng-sdk's flume.avdl), without its licence text. */
export const FLUME_PROTOCOL = JSON.stringify({
  protocol: 'AvroSourceProtocol',
  namespace: 'org.apache.flume.source.avro',
  types: [
    { type: 'enum', name: 'Status', symbols: ['OK', 'FAILED', 'UNKNOWN'] },
    { type: 'record', name: 'AvroFlumeEvent', fields: [{ name: 'headers', type: { type: 'map', values: 'string' } }, { name: 'body', type: 'bytes' }] }
  ],
  messages: {
    append: { request: [{ name: 'event', type: 'AvroFlumeEvent' }], response: 'Status' },
    appendBatch: { request: [{ name: 'events', type: { type: 'array', items: 'AvroFlumeEvent' } }], response: 'Status' }
  }
})
const SERVER_HASH = createHash('md5').update(FLUME_PROTOCOL).digest()

const MD5 = { type: 'fixed', name: 'MD5', namespace: 'org.apache.avro.ipc', size: 16 }
const HandshakeRequest = avro.Type.forSchema({
  type: 'record',
  name: 'HandshakeRequest',
  namespace: 'org.apache.avro.ipc',
  fields: [
    { name: 'clientHash', type: MD5 },
    { name: 'clientProtocol', type: ['null', 'string'] },
    { name: 'serverHash', type: 'MD5' },
    { name: 'meta', type: ['null', { type: 'map', values: 'bytes' }] }
  ]
} as any)
const HandshakeResponse = avro.Type.forSchema({
  type: 'record',
  name: 'HandshakeResponse',
  namespace: 'org.apache.avro.ipc',
  fields: [
    { name: 'match', type: { type: 'enum', name: 'HandshakeMatch', symbols: ['BOTH', 'CLIENT', 'NONE'] } },
    { name: 'serverProtocol', type: ['null', 'string'] },
    { name: 'serverHash', type: ['null', MD5] },
    { name: 'meta', type: ['null', { type: 'map', values: 'bytes' }] }
  ]
} as any)
const Meta = avro.Type.forSchema({ type: 'map', values: 'bytes' })
const Name = avro.Type.forSchema('string')
const FlumeEvent = avro.Type.forSchema({ type: 'record', name: 'AvroFlumeEvent', fields: [{ name: 'headers', type: { type: 'map', values: 'string' } }, { name: 'body', type: 'bytes' }] })
const Events = avro.Type.forSchema({ type: 'array', items: FlumeEvent })

export interface FlumeEvent { headers: Record<string, string>, body: Buffer }
export type Status = 'OK' | 'FAILED'

/** A request that is not Avro RPC of this protocol: the connection is closed. */
export class ProtocolError extends Error {}

/** What a request asks: the events to take and how to answer, or an answer already (a handshake only). */
export type Request =
  | { kind: 'answer', response: Buffer }
  | { kind: 'events', events: FlumeEvent[], respond: (status: Status) => Buffer }

/** The client hashes whose protocol text came once (Avro keeps them per server too). */
const known = new Set<string>()

/** One connection's side of the protocol: after the first handshake, requests carry none. */
export class Session {
  private connected = false

  read (body: Buffer): Request {
    let pos = 0
    const next = <T>(type: avro.Type, what: string): T => {
      const { value, offset } = type.decode(body, pos) as { value: T, offset: number }
      if (offset < 0) throw new ProtocolError(`the request ends inside its ${what}`)
      pos = offset
      return value
    }
    let handshake: Buffer | undefined
    if (!this.connected) {
      const request = next<{ clientHash: Buffer, clientProtocol: string | null, serverHash: Buffer }>(HandshakeRequest, 'handshake')
      const clientHash = request.clientHash.toString('hex')
      if (request.clientProtocol !== null) {
        checkProtocol(request.clientProtocol)
        known.add(clientHash)
      }
      const match = !known.has(clientHash) ? 'NONE' : SERVER_HASH.equals(request.serverHash) ? 'BOTH' : 'CLIENT'
      handshake = HandshakeResponse.toBuffer({
        match,
        serverProtocol: match === 'BOTH' ? null : FLUME_PROTOCOL,
        serverHash: match === 'BOTH' ? null : SERVER_HASH,
        meta: null
      })
      // NONE: the request is not read; the client asks again, with its protocol
      if (match === 'NONE') return { kind: 'answer', response: handshake }
      this.connected = true
    }
    next(Meta, 'call metadata')
    const message = next<string>(Name, 'message name')
    const head = handshake ?? Buffer.alloc(0)
    // an empty message name is a handshake alone (a client connecting)
    if (message === '') return { kind: 'answer', response: head }
    let events: FlumeEvent[]
    if (message === 'appendBatch') events = next<FlumeEvent[]>(Events, 'events')
    else if (message === 'append') events = [next<FlumeEvent>(FlumeEvent, 'event')]
    else return { kind: 'answer', response: Buffer.concat([head, errorResponse(`dstream flume serves AvroSourceProtocol (append, appendBatch); there is no message ${message}`)]) }
    if (pos !== body.length) throw new ProtocolError(`${body.length - pos} bytes after the ${message} request`)
    return { kind: 'events', events, respond: status => Buffer.concat([head, RESPONSE[status]]) }
  }
}

// metadata: an empty map; error: false; the Status enum by its index (OK 0, FAILED 1)
const RESPONSE: Record<Status, Buffer> = { OK: Buffer.from([0, 0, 0]), FAILED: Buffer.from([0, 0, 2]) }

/** metadata, error: true, and a system error: the union's first branch, a string. */
function errorResponse (text: string): Buffer {
  return Buffer.concat([Buffer.from([0, 1, 0]), Name.toBuffer(text)])
}

/** A client's protocol must be Flume's: the messages it may send are read with ours. */
function checkProtocol (text: string): void {
  let protocol: { protocol?: string, messages?: Record<string, unknown> }
  try {
    protocol = JSON.parse(text)
  } catch {
    throw new ProtocolError('the handshake names a protocol that is not JSON')
  }
  if (protocol.protocol !== 'AvroSourceProtocol' || !protocol.messages?.appendBatch) {
    throw new ProtocolError(`the client speaks the Avro protocol ${protocol.protocol ?? '(unnamed)'}, not Flume's AvroSourceProtocol`)
  }
}
