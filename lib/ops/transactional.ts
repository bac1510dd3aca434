// Spark's "transactional updates" (Streaming Programming Guide, semantics of output
// operations): a sink writes each batch into its system in one transaction that
// also records the batch time as a marker there, so a batch and "batch T is
// written" land together or not at all. Started again, the sink reads the marker
// and skips the batches up to it: a replayed batch never lands twice, even for
// writes that are not idempotent (HINCRBY, count = count + n). to-sql and to-redis
// are built on it; the system's own code says how to read the marker and write a
// batch with it.
import { retrying } from '../core/backoff.js'
import { parseDuration } from '../core/durations.js'
import { usage } from '../core/errors.js'
import type { Definition, OptionSpec } from '../core/types.js'

/** The system a transactional sink writes into. */
export interface Target {
  /** the marker: the last batch written for good, null when none yet */
  marker(): Promise<number | null>
  /** whether a failure is the system being away (reconnect, wait, try again) rather than final */
  transient(err: unknown): boolean
  /** how a failure reads in a message, credentials masked */
  describe(err: unknown): string
  /** after a transient failure, before the next attempt: a fresh connection if the old one is dead */
  reconnect?(): Promise<void>
}

export const TRANSACTIONAL_OPTIONS: Record<string, OptionSpec> = {
  'give-up': { type: 'string', meta: 'DUR', runOnly: true, describe: 'stop with exit 1 once the server has been unreachable this long (default: keep trying, the pipeline waits)' },
  // how a run goes, not what is written: kept out of NAME, so that adding --pass on a
  // restart keeps the marker (a new NAME would find none and write the replay again)
  pass: { type: 'boolean', default: false, runOnly: true, describe: 'forward the batches on stdout' }
}

export class TransactionalSink {
  private constructor (
    private readonly target: Target,
    private last: number | null,
    private readonly say: (text: string) => void,
    private readonly giveUpAfter: number | undefined
  ) {}

  /**
   * Reads the marker, trying again while the system is away. `say` gets the
   * messages of the retries (the operator puts its name and the batch in front).
   */
  static async open (target: Target, def: Definition, opts: { giveUp?: string }, say: (text: string) => void): Promise<TransactionalSink> {
    let giveUpAfter: number | undefined
    try {
      giveUpAfter = opts.giveUp === undefined ? undefined : parseDuration(opts.giveUp, '--give-up')
    } catch (err) {
      throw usage(def, (err as Error).message)
    }
    const retry = { transient: (err: unknown) => target.transient(err), describe: (err: unknown) => target.describe(err), say: (text: string) => say(`at start: ${text}`), giveUpAfter }
    const last = await retrying(async again => {
      if (again) await target.reconnect?.()
      return await target.marker()
    }, retry)
    return new TransactionalSink(target, last, say, giveUpAfter)
  }

  /** The last batch written for good, by this run or an earlier one. */
  get written (): number | null { return this.last }

  /** Whether batch `time` was written by an earlier run (it comes again in a replay). */
  has (time: number): boolean {
    return this.last !== null && time <= this.last
  }

  /**
   * Writes batch `time` with `apply`, which must write the marker in the same
   * transaction. While the system is away it is tried again; before each new attempt
   * the marker is read, since the failed one may have committed (its answer lost).
   */
  async write (time: number, apply: () => Promise<void>): Promise<void> {
    await this.retry(`batch ${time}`, async again => {
      if (again) {
        const marker = await this.target.marker()
        if (marker !== null && marker >= time) return
      }
      await apply()
    })
    this.last = time
  }

  /**
   * Something the sink does in its system (write a batch, find or create a table),
   * tried again while the system is away, on a fresh connection; `what` starts the
   * messages; `fn` is told whether this is a new attempt.
   */
  async retry<T> (what: string, fn: (again: boolean) => Promise<T>): Promise<T> {
    return retrying(async again => {
      if (again) await this.target.reconnect?.()
      return await fn(again)
    }, {
      transient: err => this.target.transient(err),
      describe: err => this.target.describe(err),
      say: text => this.say(`${what}: ${text}`),
      giveUpAfter: this.giveUpAfter
    })
  }
}
