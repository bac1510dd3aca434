// Brokers and credentials from the environment, against the test broker's real
// SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-256) and SSL listener (a self-signed
// certificate, trusted through NODE_EXTRA_CA_CERTS): `kafka | to-kafka` with
// DSTREAM_KAFKA_BROKERS, DSTREAM_KAFKA_SASL_MECHANISM, DSTREAM_KAFKA_USERNAME,
// DSTREAM_KAFKA_PASSWORD and DSTREAM_KAFKA_SSL=1 carries a topic into another, read
// back over PLAINTEXT; wrong credentials, an unknown mechanism and an untrusted
// certificate each stop the command with a message that names the setting to look at.
import t from 'tap'
import { sh } from '../helpers.js'
import { createTopic, deleteTopics, produce, readTopic, uniqueName } from '../kafkaHelpers.js'
import { kafka, kafkaSecure } from '../services.js'

t.setTimeout(300_000)

t.test('kafka and to-kafka over SASL and TLS, settings from the environment', async t => {
  const brokers = await kafka(t)
  const secure = brokers && await kafkaSecure(t)
  if (!brokers || !secure) return
  const input = await createTopic(brokers, uniqueName('secure-in'), 2)
  const values = Array.from({ length: 20 }, (_, i) => `m${i}`)
  await produce(brokers, input, values.map(value => ({ value })))
  const outputs: string[] = []
  t.teardown(() => deleteTopics(brokers, [input, ...outputs]))

  const credentials = { DSTREAM_KAFKA_USERNAME: 'dstream', DSTREAM_KAFKA_PASSWORD: 'dstream-secret' }
  const ways: Array<[string, NodeJS.ProcessEnv]> = [
    ['SASL PLAIN', { DSTREAM_KAFKA_BROKERS: secure.sasl, DSTREAM_KAFKA_SASL_MECHANISM: 'PLAIN', ...credentials }],
    ['SASL SCRAM-SHA-256', { DSTREAM_KAFKA_BROKERS: secure.sasl, DSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-256', ...credentials }],
    ['TLS', { DSTREAM_KAFKA_BROKERS: secure.ssl, DSTREAM_KAFKA_SSL: '1', NODE_EXTRA_CA_CERTS: secure.ca }]
  ]
  for (const [way, env] of ways) {
    t.test(way, async t => {
      const output = await createTopic(brokers, uniqueName('secure-out'), 1)
      outputs.push(output)
      const ran = await sh(`dstream kafka --topic ${input} --group ${uniqueName('g')} --from earliest --once | dstream map '_.toUpperCase()' | dstream to-kafka --topic ${output}`, { env, timeout: 120_000 })
      t.equal(ran.code, 0, `exit 0\n${ran.stderr}`)
      const written = (await readTopic(brokers, output)).map(m => m.value).sort()
      t.same(written, values.map(v => v.toUpperCase()).sort(), 'every message of the input, mapped, in the output (read over PLAINTEXT)')
    })
  }

  t.test('a wrong password: exit 1 at once, naming the brokers and where the credentials come from', async t => {
    const env = { DSTREAM_KAFKA_BROKERS: secure.sasl, DSTREAM_KAFKA_SASL_MECHANISM: 'plain', DSTREAM_KAFKA_USERNAME: 'dstream', DSTREAM_KAFKA_PASSWORD: 'wrong' }
    const source = await sh(`dstream kafka --topic ${input} --group ${uniqueName('g')} --from earliest --once`, { env, timeout: 120_000 })
    t.equal(source.code, 1, 'kafka: exit 1')
    t.match(source.stderr, new RegExp(`dstream kafka: cannot reach the brokers ${secure.sasl}: .*authentication failed.*DSTREAM_KAFKA_USERNAME and DSTREAM_KAFKA_PASSWORD`), 'kafka names the brokers, the failure and the settings')
    t.equal(source.stdout, '', 'and emits nothing')
    const sink = await sh(`dstream to-kafka --topic ${input}`, { env, input: '{"time":1000,"interval":1000,"records":["x"]}\n', timeout: 120_000 })
    t.equal(sink.code, 1, 'to-kafka: exit 1')
    t.match(sink.stderr, /dstream to-kafka: at start .*authentication failed.*DSTREAM_KAFKA_USERNAME and DSTREAM_KAFKA_PASSWORD/, 'to-kafka likewise')
  })

  t.test('a SASL mechanism kafkajs does not speak: exit 2 naming the variable', async t => {
    const ran = await sh(`dstream kafka --topic ${input} --group ${uniqueName('g')} --once`, { env: { DSTREAM_KAFKA_BROKERS: secure.sasl, DSTREAM_KAFKA_SASL_MECHANISM: 'gssapi' }, timeout: 60_000 })
    t.equal(ran.code, 2, 'exit 2')
    t.match(ran.stderr, /DSTREAM_KAFKA_SASL_MECHANISM=gssapi is not one of plain, scram-sha-256, scram-sha-512/, 'names the variable and what it may be')
  })

  t.test('a certificate not trusted here: exit 1 after the retries, saying how to trust it', async t => {
    // no NODE_EXTRA_CA_CERTS: the broker's self-signed certificate is nobody's
    const ran = await sh(`dstream kafka --topic ${input} --group ${uniqueName('g')} --once`, { env: { DSTREAM_KAFKA_BROKERS: secure.ssl, DSTREAM_KAFKA_SSL: '1' }, timeout: 150_000 })
    t.equal(ran.code, 1, 'exit 1')
    t.match(ran.stderr, new RegExp(`dstream kafka: cannot reach the brokers ${secure.ssl}: .*certificate.*NODE_EXTRA_CA_CERTS`), 'names the brokers, the certificate and NODE_EXTRA_CA_CERTS')
  })
})
