// Text out with backpressure: write() returns a promise only when the stream's
// buffer is full, so the fast path stays synchronous.
import type { Writable } from 'node:stream'

export class Output {
  constructor (private readonly stream: Writable) {}

  write (text: string): void | Promise<void> {
    if (this.stream.write(text)) return
    return new Promise(resolve => this.stream.once('drain', resolve))
  }

  /** resolves once everything written has been handed to the OS (writes complete in order) */
  end (): Promise<void> {
    return new Promise(resolve => this.stream.write('', () => resolve()))
  }
}
