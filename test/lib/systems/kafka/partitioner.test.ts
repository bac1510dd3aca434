// The key → partition rule of the state kept per input partition must be the one
// producers use: checked against kafkajs's DefaultPartitioner (the Java client's).
import t from 'tap'
import { Partitioners } from 'kafkajs'
import { murmur2, partitionOfKey } from '../../../../lib/systems/kafka/partitioner.js'
import { mulberry32 } from '../../../../lib/intake/random.js'

t.test('the partition of a key is the default partitioner\'s, for every length and for UTF-8', async t => {
  const next = mulberry32(7)
  const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'word', 'naïve', '日本語', '🙂 emoji', '\u0000[1,2]', '{"a":1}']
  for (let i = 0; i < 500; i++) keys.push(Array.from({ length: Math.floor(next() * 40) }, () => String.fromCharCode(32 + Math.floor(next() * 200))).join(''))
  for (const partitions of [1, 3, 6, 16]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }))
    const theirs = Partitioners.DefaultPartitioner()
    const differ = keys.filter(key => partitionOfKey(key, partitions) !== theirs({ topic: 't', partitionMetadata, message: { key, value: null } }))
    t.same(differ, [], `${keys.length} keys over ${partitions} partitions: the same partition as kafkajs's`)
  }
})

t.test('murmur2 of known inputs (the Java client\'s values)', async t => {
  // from org.apache.kafka.common.utils.UtilsTest.testMurmur2
  const cases: Array<[string, number]> = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536], ['a-little-bit-longer-string', -1486304829], ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971], ['abc', 479470107]]
  for (const [text, hash] of cases) t.equal(murmur2(Buffer.from(text)), hash, `murmur2("${text}")`)
})
