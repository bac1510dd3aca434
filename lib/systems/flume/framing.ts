// The framing of Avro RPC over Netty (avro-ipc-netty's NettyTransportCodec), which is
// what Flume's avro sink speaks. Every message is a "data pack", big-endian:
//
//   int32 serial | int32 count | count × (int32 length | length bytes)
//
// The buffers of a pack, put together, are one Avro RPC request or response; a
// response carries its request's serial. A pack that cannot be one (a negative
// length, more buffers or bytes than any sink sends) is junk: the connection is
// closed rather than bytes held without bound.

/** The most buffers in one pack: Netty's encoder makes one per 8 KB or so of a message. */
const MAX_BUFFERS = 1 << 20
/** The most bytes in one pack (a batch of events): larger is taken for junk. */
export const MAX_PACK_BYTES = 256 * 1024 * 1024

export interface Pack {
  serial: number
  /** the pack's buffers, put together */
  body: Buffer
}

/** A pack that cannot be one: the reason, for the message that closes the connection. */
export class FramingError extends Error {}

/** Packs from a byte stream, as its chunks come, however they are cut. */
export class PackDecoder {
  private held: Buffer[] = []
  private heldBytes = 0
  /** the pack being read: its serial, buffers left, what it has so far */
  private open: { serial: number, left: number, parts: Buffer[], bytes: number } | undefined

  /** The packs this chunk completes (none while one is still coming). */
  push (chunk: Buffer): Pack[] {
    if (chunk.length > 0) {
      this.held.push(chunk)
      this.heldBytes += chunk.length
    }
    const packs: Pack[] = []
    for (;;) {
      if (!this.open) {
        const head = this.take(8)
        if (!head) break
        const serial = head.readInt32BE(0)
        const count = head.readInt32BE(4)
        if (count < 0 || count > MAX_BUFFERS) throw new FramingError(`a pack of ${count} buffers (serial ${serial})`)
        this.open = { serial, left: count, parts: [], bytes: 0 }
      }
      const open = this.open
      while (open.left > 0) {
        const size = this.peekInt()
        if (size === undefined) return packs
        if (size < 0 || open.bytes + size > MAX_PACK_BYTES) throw new FramingError(`a buffer of ${size} bytes in pack ${open.serial}`)
        if (this.heldBytes < 4 + size) return packs
        this.take(4)
        open.parts.push(this.take(size)!)
        open.bytes += size
        open.left--
      }
      packs.push({ serial: open.serial, body: open.parts.length === 1 ? open.parts[0] : Buffer.concat(open.parts) })
      this.open = undefined
    }
    return packs
  }

  /** Bytes of a pack not yet complete: at the end of a connection, a truncated one. */
  get pending (): number {
    return this.heldBytes + (this.open ? 8 + this.open.bytes : 0)
  }

  private peekInt (): number | undefined {
    if (this.heldBytes < 4) return undefined
    const first = this.held[0]
    if (first.length >= 4) return first.readInt32BE(0)
    this.held = [Buffer.concat(this.held)]
    return this.held[0].readInt32BE(0)
  }

  /** The next n bytes, or undefined while fewer are held. */
  private take (n: number): Buffer | undefined {
    if (this.heldBytes < n) return undefined
    let out: Buffer
    const first = this.held[0]
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.held.shift()
      else this.held[0] = first.subarray(n)
    } else {
      const joined = Buffer.concat(this.held)
      out = joined.subarray(0, n)
      this.held = joined.length > n ? [joined.subarray(n)] : []
    }
    this.heldBytes -= n
    return out
  }
}

/** A response (or request) as one pack of one buffer. */
export function encodePack (serial: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(12)
  head.writeInt32BE(serial, 0)
  head.writeInt32BE(1, 4)
  head.writeInt32BE(body.length, 8)
  return Buffer.concat([head, body])
}
