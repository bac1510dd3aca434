// The Redis to-redis writes into: a URL from the command line, from --url-file or
// from $DSTREAM_REDIS_URL (so a password need never stand on a command line), else
// redis://127.0.0.1:6379; and an ioredis connection to it made so that dstream, not
// ioredis, decides when to try again (lib/ops/transactional.ts does, on the
// backoff schedule, reading the marker before it writes again).
//   redis://[USER:PASSWORD@]HOST[:PORT][/DB]     plain TCP, AUTH from the URL
//   rediss://[USER:PASSWORD@]HOST[:PORT][/DB]    TLS (a private CA: NODE_EXTRA_CA_CERTS=FILE)
import fs from 'node:fs'
import net from 'node:net'
import type { Redis } from 'ioredis'
import { usage } from '../../core/errors.js'
import { maskSecret, maskUrl } from '../../core/secrets.js'
import type { Definition } from '../../core/types.js'

export const DEFAULT_URL = 'redis://127.0.0.1:6379'

/** A Redis URL understood. */
export interface RedisUrl {
  /** the URL with its password masked: what every message says */
  where: string
  host: string
  port: number
  username?: string
  /** the password, to mask wherever an error repeats it */
  password?: string
  db: number
  tls: boolean
}

/** Whether a word is a Redis URL (and not a function): the first positional may be either. */
export const isRedisUrl = (word: string | undefined): boolean => word !== undefined && /^rediss?:\/\//i.test(word)

/** The URL the options and the environment give: the positional, else --url-file, else $DSTREAM_REDIS_URL, else the default. */
export function urlFrom (def: Definition, given: string | undefined, urlFile: string | undefined, env: NodeJS.ProcessEnv): string {
  if (given !== undefined && urlFile !== undefined) throw usage(def, `the URL is given twice: ${maskUrl(given)} and --url-file ${urlFile}`)
  if (given !== undefined) return given
  if (urlFile !== undefined) {
    let text: string
    try {
      text = fs.readFileSync(urlFile, 'utf8')
    } catch (err) {
      throw usage(def, `--url-file ${urlFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    const url = text.trim()
    if (!url) throw usage(def, `--url-file ${urlFile} is empty`)
    return url
  }
  return env.DSTREAM_REDIS_URL || DEFAULT_URL
}

/** The URL understood; a usage error (its password masked) when it is not a Redis URL. */
export function parseRedisUrl (def: Definition, url: string): RedisUrl {
  const where = maskUrl(url)
  const wrong = (why: string) => usage(def, `${where}: ${why} (redis://[USER:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS)`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw wrong('not a URL')
  }
  const scheme = parsed.protocol.toLowerCase()
  if (scheme !== 'redis:' && scheme !== 'rediss:') throw wrong(`not a Redis URL (${scheme}//)`)
  if (!parsed.hostname) throw wrong('no host')
  if (parsed.search || parsed.hash) throw wrong('no query or fragment is understood')
  const path = parsed.pathname.replace(/^\//, '')
  if (path !== '' && !/^\d+$/.test(path)) throw wrong(`the database is a number, not '${path}'`)
  return {
    where,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: path === '' ? 0 : Number(path),
    tls: scheme === 'rediss:'
  }
}

/** A server that answers nothing for this long, commands waiting, is taken for gone (a hung server, a half-open connection). */
const SOCKET_TIMEOUT = 30_000

/**
 * A fresh connection, ready (authenticated, the database selected), or the reason
 * it is not: ioredis's own error (ECONNREFUSED, WRONGPASS, a certificate), not its
 * "Connection is closed." that follows it.
 */
export async function connect (u: RedisUrl): Promise<Redis> {
  const { Redis } = await import('ioredis')
  // ioredis would by default hide an outage: it queues commands while it reconnects
  // (without bound), reconnects forever by itself, and sends the commands of a lost
  // connection again on the next one. A sink cannot have that: an EXEC whose answer
  // was lost may have been applied, and only a read of the marker says whether to
  // send the batch again. So every connection here is used once and thrown away:
  // - retryStrategy: () => null: no reconnecting by itself; a closed connection
  //   ends, and its pending commands fail with "Connection is closed.";
  // - enableOfflineQueue: false: a command on a connection that is not ready fails
  //   at once instead of waiting in a queue that grows with the outage;
  // - maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false: nothing is sent
  //   again behind our back (moot without reconnects, said all the same);
  // - socketTimeout: commands that get no answer at all end the connection, which
  //   then fails like any other, rather than waiting forever (as connectTimeout,
  //   ioredis's 10 s, ends a connect that is never answered).
  // The sink's retry (TransactionalSink, on the Backoff schedule, with --give-up)
  // then makes a new connection, reads the marker, and writes the batch or not.
  const client = new Redis({
    host: u.host,
    port: u.port,
    username: u.username,
    password: u.password,
    // SNI for a name; an address is checked against the certificate without it
    tls: u.tls ? (net.isIP(u.host) ? {} : { servername: u.host }) : undefined,
    connectionName: 'dstream-to-redis',
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    socketTimeout: SOCKET_TIMEOUT
  })
  let failure: Error | undefined
  // the cause of a failure comes as an 'error' event (also: without a listener ioredis prints it)
  client.on('error', err => { failure ??= err })
  try {
    await client.connect()
    // selected here, not by ioredis: its SELECT failing would leave the connection on database 0
    if (u.db !== 0) await client.select(u.db)
  } catch (err) {
    client.disconnect()
    throw failure ?? err
  }
  return client
}

/** Node's words for a network that is away for now. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * Whether a failure is the server being away or busy for now (try again on a new
 * connection) rather than final. Final: credentials refused (WRONGPASS, NOAUTH),
 * permissions (NOPERM), a certificate not trusted, any other error reply.
 */
export function transient (err: unknown): boolean {
  const e = err as NodeJS.ErrnoException
  if (e?.code && NETWORK.has(e.code)) return true
  const message = String(e?.message ?? err)
  // ioredis: a connection that closed or is not ready, and the socket timeout above
  if (/^(Connection is closed|Stream isn't writeable|Socket timeout|connect ETIMEDOUT|Reached the max retries)/.test(message)) return true
  // Redis: loading its data after a start, a script running, failing over, out of
  // memory or unable to save (both may be fixed meanwhile), a replica (not yet promoted)
  return /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|READONLY|OOM|MISCONF|NOREPLICAS)\b/.test(message)
}

/** How a failure reads in a message: where, and what, the password masked. */
export function describe (u: RedisUrl, err: unknown): string {
  const e = err as NodeJS.ErrnoException
  // ioredis's words for a command sent on a connection that has gone (its offline queue is off)
  const message = maskSecret(String(e?.message ?? err).replace(/\.$/, '').replace(/^Stream isn't writeable and enableOfflineQueue options is false$/, 'Connection is closed'), u.password)
  const hint = /certificate|CERT_|altnames|self.signed/i.test(message)
    ? " (the server's certificate is not trusted here; NODE_EXTRA_CA_CERTS may name a file with the CA that signed it)"
    : /^(WRONGPASS|NOAUTH)/.test(message) ? ' (the user and password come from the URL)' : ''
  return `${u.where}: ${message}${hint}`
}
