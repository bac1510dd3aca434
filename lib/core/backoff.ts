// The retry schedule of what reconnects or restarts: sources (socket, exec) and the
// sinks that write into a server (to-sql, to-redis): 100 ms, doubling up to 5 s,
// back to 100 ms after a good connection or run.

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

export interface Retrying {
  /** whether a failure is worth another attempt (a server that is away), or final */
  transient(err: unknown): boolean
  /** where a retry is said (stderr, with the operator and what it was doing) */
  say(text: string): void
  /** how a failure reads in a message (default: errorCode) */
  describe?(err: unknown): string
  /** ms of failing in a row after which a transient failure is final too (default: never) */
  giveUpAfter?: number
}

/**
 * Calls `attempt` until it succeeds. A transient failure is said, waited out on the
 * Backoff schedule and tried again, with `again` true so that the attempt can first
 * find out whether the failed one took effect after all (a commit whose answer was
 * lost); any other failure is thrown at once.
 */
export async function retrying<T> (attempt: (again: boolean) => Promise<T>, o: Retrying): Promise<T> {
  const backoff = new Backoff()
  const describe = o.describe ?? errorCode
  let since: number | undefined
  for (let again = false; ; again = true) {
    try {
      const result = await attempt(again)
      if (since !== undefined) o.say(`back after ${formatDelay(Date.now() - since)}`)
      return result
    } catch (err) {
      if (!o.transient(err)) throw err
      since ??= Date.now()
      if (o.giveUpAfter !== undefined && Date.now() - since >= o.giveUpAfter) throw err
      const delay = backoff.next()
      o.say(`${describe(err)}; trying again in ${formatDelay(delay)}`)
      await new Promise(resolve => setTimeout(resolve, delay))
    }
  }
}
