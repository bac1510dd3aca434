// The real services some tests need (a Kafka broker, a Redis server, a MariaDB server,
// a PostgreSQL server, Flume agents): found, or the test is skipped with "skipped: no
// Kafka" / "skipped: no Redis" / "skipped: no MariaDB" / "skipped: no PostgreSQL" /
// "skipped: no Flume"; with DSTREAM_REQUIRE_SERVICES=1 (set by .ci/run) a missing service
// fails the test instead. Each is started by its script in scripts/ (kafka/broker.sh,
// redis/server.sh, mariadb/server.sh, postgres/server.sh); the databases' user is dstream,
// password dstream-secret, with a database dstream (and, on MariaDB, any database named
// dstream*). Flume is not a server: scripts/flume/agent.sh install fetches its jars, and a
// test starts the agents it needs with scripts/flume/agent.sh start NAME CONF.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

export const KAFKA = process.env.DSTREAM_TEST_KAFKA ?? '127.0.0.1:19092'
export const REDIS = process.env.DSTREAM_TEST_REDIS ?? '127.0.0.1:16379'
/** The test databases' addresses (host:port; scripts/mariadb/server.sh, scripts/postgres/server.sh). */
export const MARIADB = process.env.DSTREAM_TEST_MARIADB ?? '127.0.0.1:13306'
export const POSTGRES = process.env.DSTREAM_TEST_POSTGRES ?? '127.0.0.1:15432'
/** The test broker's SASL_PLAINTEXT and SSL listeners, and the CA a client trusts for the latter (scripts/kafka/broker.sh). */
export const KAFKA_SASL = process.env.DSTREAM_TEST_KAFKA_SASL ?? '127.0.0.1:19094'
export const KAFKA_SSL = process.env.DSTREAM_TEST_KAFKA_SSL ?? '127.0.0.1:19095'
export const KAFKA_CA = process.env.DSTREAM_TEST_KAFKA_CA ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.kafka', 'tls', 'ca.pem')
/** The Flume agents' script, and the jars it runs them with (scripts/flume/agent.sh install; FLUME_LIBS as the script reads it). */
export const FLUME_AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'flume', 'agent.sh')
export const FLUME_LIBS = process.env.FLUME_LIBS ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.flume', 'lib')

function answers (address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return new Promise(resolve => {
    const socket = net.connect({ host, port })
    socket.setTimeout(2000, () => { socket.destroy(); resolve(false) })
    socket.once('connect', () => { socket.end(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** The address when something answers there; otherwise skips the test (fails it, when services are required) and gives undefined. */
async function service (t: Test, name: string, address: string, script: string): Promise<string | undefined> {
  if (await answers(address)) return address
  const why = `no ${name} at ${address} (start one with ${script} start)`
  if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail(`DSTREAM_REQUIRE_SERVICES=1 but ${why}`)
  else t.skip(`skipped: ${why}`, () => {})
  return undefined
}

/** The broker address, or undefined after skipping (or failing, when services are required) the test. */
export function kafka (t: Test): Promise<string | undefined> {
  return service(t, 'Kafka', KAFKA, 'scripts/kafka/broker.sh')
}

/** The broker's SASL and SSL listeners, or undefined after skipping (or failing, when services are required) the test. */
export async function kafkaSecure (t: Test): Promise<{ sasl: string, ssl: string, ca: string } | undefined> {
  const sasl = await service(t, 'Kafka SASL listener', KAFKA_SASL, 'scripts/kafka/broker.sh')
  const ssl = sasl && await service(t, 'Kafka SSL listener', KAFKA_SSL, 'scripts/kafka/broker.sh')
  return sasl && ssl ? { sasl, ssl, ca: KAFKA_CA } : undefined
}

/** The Redis server's address (host:port), or undefined after skipping (or failing, when services are required) the test. */
export function redis (t: Test): Promise<string | undefined> {
  return service(t, 'Redis', REDIS, 'scripts/redis/server.sh')
}

/** The MariaDB server's URL (mysql://dstream:dstream-secret@127.0.0.1:13306/dstream), or undefined after skipping (or failing, when services are required) the test. */
export async function mariadb (t: Test): Promise<string | undefined> {
  const address = await service(t, 'MariaDB', MARIADB, 'scripts/mariadb/server.sh')
  return address && `mysql://dstream:dstream-secret@${address}/dstream`
}

/** The PostgreSQL server's URL (postgres://dstream:dstream-secret@127.0.0.1:15432/dstream), or undefined after skipping (or failing, when services are required) the test. */
export async function postgres (t: Test): Promise<string | undefined> {
  const address = await service(t, 'PostgreSQL', POSTGRES, 'scripts/postgres/server.sh')
  return address && `postgres://dstream:dstream-secret@${address}/dstream`
}

let java: boolean | undefined
function hasJava (): boolean {
  if (java === undefined) {
    try {
      execFileSync('java', ['-version'], { stdio: 'ignore', timeout: 30_000 })
      java = true
    } catch {
      java = false
    }
  }
  return java
}

/**
 * The path of scripts/flume/agent.sh (`start NAME CONF`, `stop NAME`, `status NAME`) when
 * Flume's jars are installed and java runs; otherwise undefined after skipping (or failing,
 * when services are required) the test.
 */
export function flume (t: Test): string | undefined {
  const jar = path.join(FLUME_LIBS, 'flume-ng-node-1.11.0.jar')
  const why = !fs.existsSync(jar) ? 'no Flume (run scripts/flume/agent.sh install)' : !hasJava() ? 'no Flume (no java to run it)' : undefined
  if (!why) return FLUME_AGENT
  if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail(`DSTREAM_REQUIRE_SERVICES=1 but ${why}`)
  else t.skip(`skipped: ${why}`, () => {})
  return undefined
}
