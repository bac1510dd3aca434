// Lines from a byte stream into a Batcher: the shared inside of every line source
// (stdin, a socket, a pushing client, a command's stdout). `--json` parses each
// line; a line that does not parse is a bad record (exit 65, or dead-lettered).
import type { Readable } from 'node:stream'
import split2 from 'split2'
import type { Batcher } from './batcher.js'
import type { Context } from './types.js'

export interface LineOptions {
  json: boolean
}

/** Resolves when the stream ends; pauses it while the pipeline asks to wait. */
export function feedLines (stream: Readable, batcher: Batcher, ctx: Context, { json }: LineOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = stream.pipe(split2())
    stream.on('error', reject)
    lines.on('error', reject)
    lines.on('end', resolve)
    lines.on('data', (line: string) => {
      let record: unknown = line
      if (json) {
        try {
          record = JSON.parse(line)
        } catch (err) {
          try {
            ctx.badRecord(line, `not JSON (${(err as Error).message})`, batcher.time)
          } catch (bad) {
            reject(bad)
            lines.destroy()
          }
          return
        }
      }
      const wait = batcher.push(record)
      if (wait) {
        lines.pause()
        wait.then(() => lines.resume(), reject)
      }
    })
  })
}
