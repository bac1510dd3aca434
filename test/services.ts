// The real services some tests need (a Kafka broker): found, or the test is skipped
// with "skipped: no Kafka"; with DSTREAM_REQUIRE_SERVICES=1 (set by .ci/run) a
// missing service fails the test instead.
import net from 'node:net'
import type { Test } from 'tap'

export const KAFKA = process.env.DSTREAM_TEST_KAFKA ?? '127.0.0.1:19092'

function answers (address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return new Promise(resolve => {
    const socket = net.connect({ host, port })
    socket.setTimeout(2000, () => { socket.destroy(); resolve(false) })
    socket.once('connect', () => { socket.end(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** The broker address, or undefined after skipping (or failing, when services are required) the test. */
export async function kafka (t: Test): Promise<string | undefined> {
  if (await answers(KAFKA)) return KAFKA
  const why = `no Kafka at ${KAFKA} (start one with scripts/kafka/broker.sh start)`
  if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail(`DSTREAM_REQUIRE_SERVICES=1 but ${why}`)
  else t.skip(`skipped: ${why}`)
  return undefined
}
