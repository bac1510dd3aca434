// A batch and its marker in one Redis transaction: Spark's transactional updates
// (lib/ops/transactional.ts) written for Redis. The marker is the string key
// dstream:commit:NAME, the time of the last batch written; a batch is
//
//   WATCH marker  GET marker                      (one round trip)
//   MULTI  command...  SET marker TIME  EXEC      (one round trip)
//
// sent only when the marker is below its time. MULTI/EXEC runs the commands and the
// marker together or not at all: a connection lost before EXEC leaves nothing
// behind. WATCH makes it conditional: if anyone moves the marker between the GET
// and the EXEC (the EXEC of an attempt whose answer was lost, another pipeline
// under the same name), EXEC does nothing, and the marker is looked at again.
//
// Why not a Lua script, which would do it in one round trip? The commands are the
// user's, with keys Redis cannot know before they run (a script must declare its
// keys); and MULTI gives what a script cannot: Redis checks every command as it is
// queued (its name, its number of arguments) and refuses the whole transaction
// (EXECABORT) if one is wrong, so a bad command is caught with nothing written.
// What neither has is a rollback: a command refused as it runs (WRONGTYPE, a
// field that is not an integer) does not undo the others, and the marker is set
// with them. Those refusals are returned to the operator, which sets their records
// aside.
import type { Redis } from 'ioredis'
import { excerpt } from '../../core/errors.js'
import type { Command } from './commands.js'
import { connect, describe, transient, type RedisUrl } from './client.js'

/** A command Redis refused: its index in the batch, and Redis's error. */
export interface Refusal { index: number, error: string }

/**
 * Commands Redis refused as they were queued, for what they are (an unknown command,
 * the wrong number of arguments): nothing of the batch was written.
 */
export class QueueRefusal extends Error {
  constructor (readonly refusals: Refusal[]) {
    super(`Redis refused ${refusals.length} command${refusals.length === 1 ? '' : 's'} of the batch; nothing of it was written`)
  }
}

/** How often EXEC may find the marker moved, and the marker still below the batch, before giving up. */
const MOVED_TRIES = 5

/** The Target of a TransactionalSink (lib/ops/transactional.ts), for one marker key in one Redis. */
export class RedisTarget {
  private client: Redis | undefined

  constructor (readonly url: RedisUrl, readonly markerKey: string) {}

  /** The connection, made when there is none. */
  private async connection (): Promise<Redis> {
    this.client ??= await connect(this.url)
    return this.client
  }

  async marker (): Promise<number | null> {
    return this.markerOf(await (await this.connection()).get(this.markerKey))
  }

  private markerOf (value: string | null): number | null {
    if (value === null) return null
    const time = Number(value)
    if (!Number.isSafeInteger(time)) throw new Error(`the marker ${this.markerKey} holds ${excerpt(value)}, not a batch time (delete it, or give to-redis another --name)`)
    return time
  }

  transient (err: unknown): boolean { return transient(err) }

  describe (err: unknown): string { return describe(this.url, err) }

  /**
   * Before an attempt after a transient failure: always a new connection. The old
   * one may look alive and still have an EXEC under way (a socket timeout, a busy
   * server); the new one reads the marker afresh, and WATCH settles any race.
   */
  async reconnect (): Promise<void> {
    this.client?.disconnect()
    this.client = undefined
  }

  /**
   * Writes batch `time`: its commands and the marker in one MULTI/EXEC, unless the
   * marker is already there (then undefined). Returns the commands Redis refused as
   * they ran (the others, and the marker, were written); throws a QueueRefusal when
   * Redis refused commands as they were queued (nothing was written).
   */
  async apply (time: number, commands: Command[]): Promise<Refusal[] | undefined> {
    const client = await this.connection()
    for (let tries = 1; ; tries++) {
      const [[watchFailed], [getFailed, value]] = (await client.pipeline().watch(this.markerKey).get(this.markerKey).exec())!
      if (watchFailed || getFailed) throw watchFailed ?? getFailed
      const marker = this.markerOf(value as string | null)
      if (marker !== null && marker >= time) {
        await client.unwatch()
        return undefined
      }
      const transaction = client.pipeline()
      transaction.call('MULTI')
      for (const [name, ...args] of commands) transaction.call(name, ...args)
      transaction.call('SET', this.markerKey, String(time))
      transaction.call('EXEC')
      const replies = (await transaction.exec())!
      const [execFailed, results] = replies[replies.length - 1]
      if (execFailed) throw this.refusedWhole(execFailed, replies.slice(1, -1))
      if (results === null) {
        // the marker moved after the GET: EXEC did nothing; look again
        if (tries < MOVED_TRIES) continue
        throw new Error(`the marker ${this.markerKey} keeps moving while batch ${time} is written: is another pipeline writing under the same name?`)
      }
      const ran = results as unknown[]
      const markerSet = ran[ran.length - 1]
      if (markerSet instanceof Error) throw markerSet
      const refused: Refusal[] = []
      for (let i = 0; i < commands.length; i++) if (ran[i] instanceof Error) refused.push({ index: i, error: (ran[i] as Error).message })
      return refused
    }
  }

  /**
   * EXEC refused the whole transaction: nothing was written. When it is for
   * commands Redis found wrong as they were queued (an "ERR ..." reply: unknown,
   * wrong arguments), those are the records' fault; anything else (OOM, READONLY,
   * NOPERM, the marker's SET refused) is the server's, transient or not.
   */
  private refusedWhole (execFailed: Error, queued: Array<[Error | null, unknown]>): Error {
    if (!/^EXECABORT/.test(execFailed.message)) return execFailed
    const commands = queued.slice(0, -1)
    const server = queued.find(([err], i) => err && (i === commands.length || !/^ERR /.test(err.message)))
    if (server) return server[0]!
    return new QueueRefusal(commands.flatMap(([err], index) => err ? [{ index, error: err.message }] : []))
  }

  async close (): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect())
    this.client = undefined
  }

  abort (): void {
    this.client?.disconnect()
    this.client = undefined
  }
}
