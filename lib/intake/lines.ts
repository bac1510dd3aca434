// Lines from a byte stream into an Intake: the shared inside of every line source
// (stdin, a socket, a pushing client, a command's stdout). The intake parses
// (--json) and batches them.
import type { Readable } from 'node:stream'
import split2 from 'split2'
import type { Intake } from './lineIntake.js'

/** Resolves when the stream ends; pauses it while the pipeline asks to wait. */
export function feedLines (stream: Readable, intake: Intake): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = stream.pipe(split2())
    stream.on('error', reject)
    lines.on('error', reject)
    lines.on('end', resolve)
    lines.on('data', (line: string) => {
      let wait: void | Promise<void>
      try {
        wait = intake.push(line)
      } catch (err) {
        reject(err)
        lines.destroy()
        return
      }
      if (wait) {
        lines.pause()
        wait.then(() => lines.resume(), err => { reject(err); lines.destroy() })
      }
    })
  })
}
