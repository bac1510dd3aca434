import t from 'tap'
import { formatDuration, parseDuration } from '../../../lib/core/durations.js'

t.test('cases', async t => {
  const cases: Array<[string | number, number]> = [['250ms', 250], ['5s', 5000], ['1m', 60000], ['2h', 7200000], ['1d', 86400000], ['1500', 1500], [300, 300], ['1.5s', 1500]]
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, String(text))
  t.equal(formatDuration(30000), '30s')
  t.equal(formatDuration(1500), '1500ms')
})

t.test('bad input', async t => {
  for (const text of ['', '5 sec', '-1s', '0', '1.0001s', 'abc']) {
    t.throws(() => parseDuration(text, 'interval'), { exitCode: 2, message: /bad interval/ }, JSON.stringify(text))
  }
})
