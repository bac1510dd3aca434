// lib/systems/kafka/client.ts without a broker: the retry of admin calls at start, what a failure to
// connect says, and the settings read from the environment.
import t from 'tap'
import { connectionProblem, kafkaClient, whileRetriable } from '../../../../lib/systems/kafka/client.js'

const failure = (message: string, retriable: boolean) => Object.assign(new Error(message), { retriable })

t.test('whileRetriable: a retriable failure is tried again; any other goes at once', async t => {
  let calls = 0
  const value = await whileRetriable(async () => {
    if (++calls < 3) throw failure('This is not the correct coordinator for this group', true)
    return 'offsets'
  })
  t.equal(value, 'offsets', 'the value once the call succeeds')
  t.equal(calls, 3, 'after two retriable failures')

  calls = 0
  await t.rejects(whileRetriable(async () => { calls++; throw failure('Invalid groupId', false) }), /Invalid groupId/, 'a failure that is not retriable is thrown')
  t.equal(calls, 1, 'at once')

  calls = 0
  const started = Date.now()
  await t.rejects(whileRetriable(async () => { calls++; throw failure('still loading', true) }, 500), /still loading/, 'a failure still retriable at the deadline is thrown')
  t.ok(calls >= 2 && Date.now() - started < 2000, `within the deadline (${calls} calls in ${Date.now() - started} ms)`)
})

t.test('connectionProblem names the setting to look at', async t => {
  t.match(connectionProblem(new Error('SASL PLAIN authentication failed: Authentication failed: Invalid username or password')), /DSTREAM_KAFKA_USERNAME and DSTREAM_KAFKA_PASSWORD/)
  t.match(connectionProblem(new Error('The broker does not support the requested SASL mechanism')), /DSTREAM_KAFKA_SASL_MECHANISM/)
  t.match(connectionProblem(new Error('Connection error: self-signed certificate')), /NODE_EXTRA_CA_CERTS/)
  t.equal(connectionProblem(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1')), 'Connection error: connect ECONNREFUSED 127.0.0.1:1', 'an outage as it is')
})

t.test('kafkaClient: brokers from the option or the environment; SASL mechanisms checked', async t => {
  await t.rejects(kafkaClient('kafka', undefined, {}), { exitCode: 2, message: /no brokers: give --brokers host:port or set DSTREAM_KAFKA_BROKERS/ })
  t.ok(await kafkaClient('kafka', undefined, { DSTREAM_KAFKA_BROKERS: '127.0.0.1:9092' }), 'brokers from DSTREAM_KAFKA_BROKERS')
  for (const mechanism of ['PLAIN', 'scram-sha-256', 'SCRAM-SHA-512']) t.ok(await kafkaClient('kafka', 'b:9092', { DSTREAM_KAFKA_SASL_MECHANISM: mechanism }), `${mechanism} is taken`)
  await t.rejects(kafkaClient('to-kafka', 'b:9092', { DSTREAM_KAFKA_SASL_MECHANISM: 'gssapi' }), { exitCode: 2, message: /dstream to-kafka: DSTREAM_KAFKA_SASL_MECHANISM=gssapi is not one of plain, scram-sha-256, scram-sha-512/ })
})
