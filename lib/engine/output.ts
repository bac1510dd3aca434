// Text out with backpressure: write() returns a promise only when the stream's
// buffer is full, so the fast path stays synchronous.
import fs from 'node:fs'
import type { Writable } from 'node:stream'

export class Output {
  /** when something was last written (ms) */
  lastWrite = Date.now()

  constructor (private readonly stream: Writable) {}

  write (text: string): void | Promise<void> {
    this.lastWrite = Date.now()
    if (this.stream.write(text)) return
    return new Promise(resolve => this.stream.once('drain', resolve))
  }

  /**
   * A pipe whose reader has gone is only noticed when written to. A process with
   * nothing to write (an event-time source while no data comes, the operators after
   * it) would outlive the pipeline it belongs to; so into a pipe, after a second of
   * silence, a blank line goes, which every reader of batches skips. The write to a
   * closed pipe fails (EPIPE) and the process ends quietly, as with `| head`.
   */
  keepAlive (everyMs = 1000): () => void {
    const fd = (this.stream as any).fd
    let pipe = false
    try { pipe = typeof fd === 'number' && fs.fstatSync(fd).isFIFO() } catch { /* not a file descriptor */ }
    if (!pipe) return () => {}
    const timer = setInterval(() => { if (Date.now() - this.lastWrite >= everyMs) void this.write('\n') }, everyMs)
    timer.unref()
    return () => clearInterval(timer)
  }

  /** resolves once everything written has been handed to the OS (writes complete in order) */
  end (): Promise<void> {
    return new Promise(resolve => this.stream.write('', () => resolve()))
  }
}
