// The retry schedule of the sources that reconnect or restart (socket, exec):
// 100 ms, doubling up to 5 s, back to 100 ms after a good connection or run.

export const FIRST_DELAY = 100
export const MAX_DELAY = 5000

export class Backoff {
  private delay = FIRST_DELAY

  /** The wait before the next attempt; each call doubles the following one, up to MAX_DELAY. */
  next (): number {
    const delay = this.delay
    this.delay = Math.min(MAX_DELAY, delay * 2)
    return delay
  }

  reset (): void {
    this.delay = FIRST_DELAY
  }
}

/** A delay for messages: 100ms, 1.6s, 5s. */
export function formatDelay (ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`
}

/** What went wrong with a connection or a spawn, in a word: ECONNREFUSED, ENOENT. */
export function errorCode (err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] }
  // a host with several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError
  return e?.code ?? e?.errors?.[0]?.code ?? (e?.message || String(err))
}
