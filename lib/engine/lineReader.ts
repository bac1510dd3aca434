// Lines of a byte stream, for batch lines, which are long (a chunk of thousands of
// records is a line of a megabyte). split2 re-splits its whole pending string on
// every 64 KB read, quadratic in the line length, and halved the throughput of a
// piped chain; this keeps the pieces of a line as Buffers and joins them once.
import type { Readable } from 'node:stream'

const NEWLINE = 10

export async function * readLines (stream: Readable): AsyncGenerator<string> {
  let parts: Buffer[] = []
  for await (const data of stream as AsyncIterable<Buffer | string>) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data
    let start = 0
    let end: number
    while ((end = chunk.indexOf(NEWLINE, start)) !== -1) {
      const tail = chunk.subarray(start, end)
      yield parts.length === 0 ? tail.toString() : Buffer.concat([...parts, tail]).toString()
      parts = []
      start = end + 1
    }
    if (start < chunk.length) parts.push(chunk.subarray(start))
  }
  if (parts.length) yield Buffer.concat(parts).toString()
}
