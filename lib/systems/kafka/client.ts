// A kafkajs client from the command line and the environment: --brokers, else
// DSTREAM_KAFKA_BROKERS; SASL and TLS from DSTREAM_KAFKA_SASL_MECHANISM (plain,
// scram-sha-256, scram-sha-512), DSTREAM_KAFKA_USERNAME, DSTREAM_KAFKA_PASSWORD and
// DSTREAM_KAFKA_SSL=1, so credentials never stand on a command line.
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import type { Kafka, SASLOptions } from 'kafkajs'
import { UsageError } from '../../core/errors.js'
import type { OptionSpec } from '../../core/types.js'

export const BROKERS_OPTION: Record<string, OptionSpec> = {
  brokers: { type: 'string', meta: 'LIST', describe: 'the brokers, host:port,host:port (default: $DSTREAM_KAFKA_BROKERS)' }
}

/** The SASL mechanisms kafkajs speaks with a user name and a password. */
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512']

/**
 * What a failure to connect says, and which setting to look at when it is one of
 * SASL or TLS: those are not outages, and the error alone does not say where the
 * credentials or the trust came from.
 */
export function connectionProblem (err: unknown): string {
  const message = (err as Error).message
  if (/authentication failed/i.test(message)) return `${message} (the credentials come from DSTREAM_KAFKA_USERNAME and DSTREAM_KAFKA_PASSWORD)`
  if (/SASL mechanism/i.test(message)) return `${message} (DSTREAM_KAFKA_SASL_MECHANISM)`
  if (/certificate|CERT_|altnames/i.test(message)) return `${message} (DSTREAM_KAFKA_SSL=1: the brokers' certificate is not trusted here; NODE_EXTRA_CA_CERTS may name a file with the CA that signed it)`
  return message
}

/**
 * An admin call tried again while kafkajs calls its failure retriable, for up to `ms`:
 * kafkajs's admin does not itself retry a group coordinator that has moved or is
 * still loading (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), as on a broker
 * that has just started and is creating __consumer_offsets.
 */
export async function whileRetriable<T> (call: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await call()
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || Date.now() + wait > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, wait))
    }
  }
}

/**
 * `retries`: how often a request is tried again (with backoff up to 5 s) before it
 * fails; 8 is about half a minute. kafkajs loads here, when a Kafka command starts,
 * not with every command (it costs a process some 30 ms).
 */
export async function kafkaClient (operator: string, brokers: string | undefined, env: NodeJS.ProcessEnv = process.env, retries = 8): Promise<Kafka> {
  const list = (brokers ?? env.DSTREAM_KAFKA_BROKERS ?? '').split(',').map(b => b.trim()).filter(Boolean)
  if (list.length === 0) throw new UsageError(`dstream ${operator}: no brokers: give --brokers host:port or set DSTREAM_KAFKA_BROKERS`)
  const mechanism = env.DSTREAM_KAFKA_SASL_MECHANISM?.toLowerCase()
  if (mechanism !== undefined && !MECHANISMS.includes(mechanism)) throw new UsageError(`dstream ${operator}: DSTREAM_KAFKA_SASL_MECHANISM=${env.DSTREAM_KAFKA_SASL_MECHANISM} is not one of ${MECHANISMS.join(', ')}`)
  const sasl = mechanism ? { mechanism, username: env.DSTREAM_KAFKA_USERNAME ?? '', password: env.DSTREAM_KAFKA_PASSWORD ?? '' } as SASLOptions : undefined
  const { Kafka, logLevel } = await import('kafkajs')
  return new Kafka({
    clientId: `dstream-${operator}`,
    brokers: list,
    ssl: env.DSTREAM_KAFKA_SSL === '1' ? true : undefined,
    sasl,
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 5000 }
  })
}

/**
 * What tells this instance of a pipeline from the same pipeline elsewhere: a hash of
 * the host and the state directory. Transactional ids and the sink's own group carry
 * it, so instances sharing a consumer group neither fence each other's producers nor
 * take each other's written batches for their own.
 */
export function instanceTag (stateDir: string): string {
  return createHash('sha256').update(`${os.hostname()}\u0000${path.resolve(stateDir)}`).digest('hex').slice(0, 12)
}
