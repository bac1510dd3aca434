// The server the Redis tests run against (scripts/redis/server.sh): Debian's
// redis-server on 127.0.0.1:16379, no persistence. Checked here with ioredis (the
// project's Redis client): a hash in a fresh key written with HSET, read back with
// HGETALL, then deleted.
import t from 'tap'
import { Redis } from 'ioredis'
import { redis } from '../services.js'

t.test('a real Redis server: HSET and HGETALL a hash', async t => {
  const address = await redis(t)
  if (!address) return
  const colon = address.lastIndexOf(':')
  const client = new Redis({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  const key = `dstream-test:${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`
  try {
    t.equal(await client.hset(key, { word: 'spark', count: '3', empty: '' }), 3, 'three new fields')
    t.same(await client.hgetall(key), { word: 'spark', count: '3', empty: '' }, 'the hash is read back whole')
    t.equal(await client.hincrby(key, 'count', 2), 5, 'a field is incremented in place')
    t.equal(await client.hget(key, 'count'), '5')
    t.equal(await client.del(key), 1, 'the key is deleted')
    t.equal(await client.exists(key), 0)
  } finally {
    await client.quit()
  }
})
