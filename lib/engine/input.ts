// Batch lines in: the wire format's checks, bad lines to the context.
import type { Readable } from 'node:stream'
import { readLines } from './lineReader.js'
import { parseChunk } from '../core/wire.js'
import type { Chunk } from '../core/types.js'
import type { OperatorContext } from './context.js'

const BLANK = /^\s*$/

/** Each chunk goes to `sink` with the bytes of its line, newline included (for the metrics). */
export async function readChunks (stream: Readable, ctx: OperatorContext, sink: (chunk: Chunk, bytes: number) => void | Promise<void>): Promise<void> {
  let last: number | undefined
  for await (const line of readLines(stream)) {
    if (line.length === 0 || (line.length < 64 && BLANK.test(line))) continue
    const chunk = parseChunk(line)
    if (typeof chunk === 'string') {
      ctx.badLine(line, chunk, last)
      continue
    }
    last = chunk.time
    const wait = sink(chunk, Buffer.byteLength(line) + 1)
    if (wait) await wait
  }
}
