// The server the PostgreSQL tests run against (scripts/postgres/server.sh): Debian's
// PostgreSQL 15 on 127.0.0.1:15432, role dstream. Checked here with pg (the project's
// PostgreSQL client), over TCP with the password (scram-sha-256): a fresh table, rows
// inserted in a transaction (and a rolled-back one that leaves nothing), read back, an
// INSERT ... ON CONFLICT ... DO UPDATE that adds to a count, then the table dropped.
import t from 'tap'
import pg from 'pg'
import { postgres } from '../services.js'

t.test('a real PostgreSQL server: a transaction, a read, an upsert', async t => {
  const url = await postgres(t)
  if (!url) return
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const table = `dstream_test_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
  const words = async () =>
    (await client.query<{ word: string, count: number }>(`SELECT word, count FROM "${table}" ORDER BY word COLLATE "C"`)).rows
  try {
    const server = (await client.query<{ version: string, db: string, user: string }>(
      'SELECT version() AS version, current_database() AS db, current_user AS user')).rows[0]
    t.match(server, { version: /^PostgreSQL 15\./, db: 'dstream', user: 'dstream' }, 'PostgreSQL 15, as dstream, in the database dstream')
    await client.query(`CREATE TABLE "${table}" (word text PRIMARY KEY, count integer NOT NULL)`)

    await client.query('BEGIN')
    for (const [word, count] of [['spark', 3], ['stream', 1], ['é✓', 2]] as const) {
      await client.query(`INSERT INTO "${table}" (word, count) VALUES ($1, $2)`, [word, count])
    }
    await client.query('COMMIT')
    t.same(await words(), [{ word: 'spark', count: 3 }, { word: 'stream', count: 1 }, { word: 'é✓', count: 2 }], 'the committed rows are read back (UTF-8 too)')

    await client.query('BEGIN')
    await client.query(`INSERT INTO "${table}" (word, count) VALUES ($1, $2)`, ['lost', 9])
    await client.query('ROLLBACK')
    t.equal((await words()).length, 3, 'a rolled-back insert leaves nothing')

    const upsert = await client.query(
      `INSERT INTO "${table}" AS t (word, count) VALUES ($1, $2), ($3, $4) ON CONFLICT (word) DO UPDATE SET count = t.count + EXCLUDED.count`,
      ['spark', 2, 'dstream', 5])
    t.equal(upsert.rowCount, 2, 'one row updated and one inserted')
    t.same(await words(), [{ word: 'dstream', count: 5 }, { word: 'spark', count: 5 }, { word: 'stream', count: 1 }, { word: 'é✓', count: 2 }],
      'the count is added to in place')
  } finally {
    await client.query(`DROP TABLE IF EXISTS "${table}"`)
    const left = await client.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [table])
    t.equal(left.rowCount, 0, 'the table is dropped')
    await client.end()
  }
})
