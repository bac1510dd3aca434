// The server the MariaDB tests run against (scripts/mariadb/server.sh): Debian's
// mariadb-server on 127.0.0.1:13306, user dstream. Checked here with mysql2 (the
// project's MySQL/MariaDB client), over TCP with the password: a fresh table, rows
// inserted in a transaction (and a rolled-back one that leaves nothing), read back, an
// INSERT ... ON DUPLICATE KEY UPDATE that adds to a count, then the table dropped.
import t from 'tap'
import mysql from 'mysql2/promise'
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { mariadb } from '../services.js'

t.test('a real MariaDB server: a transaction, a read, an upsert', async t => {
  const url = await mariadb(t)
  if (!url) return
  const client = await mysql.createConnection(url)
  const table = `dstream_test_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
  const words = async () => {
    const [rows] = await client.query<RowDataPacket[]>(`SELECT word, count FROM \`${table}\` ORDER BY word COLLATE utf8mb4_bin`)
    return rows.map(row => ({ word: row.word as string, count: row.count as number }))
  }
  try {
    const [[server]] = await client.query<RowDataPacket[]>('SELECT VERSION() AS version, DATABASE() AS db, CURRENT_USER() AS user')
    t.match(server, { version: /MariaDB/, db: 'dstream', user: 'dstream@127.0.0.1' }, 'MariaDB, as dstream, in the database dstream')
    await client.query(`CREATE TABLE \`${table}\` (word VARCHAR(64) NOT NULL PRIMARY KEY, count INT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)

    await client.beginTransaction()
    await client.query(`INSERT INTO \`${table}\` (word, count) VALUES ?`, [[['spark', 3], ['stream', 1], ['é✓', 2]]])
    await client.commit()
    t.same(await words(), [{ word: 'spark', count: 3 }, { word: 'stream', count: 1 }, { word: 'é✓', count: 2 }], 'the committed rows are read back (utf8mb4 too)')

    await client.beginTransaction()
    await client.query(`INSERT INTO \`${table}\` (word, count) VALUES (?, ?)`, ['lost', 9])
    await client.rollback()
    t.equal((await words()).length, 3, 'a rolled-back insert leaves nothing')

    const [upsert] = await client.query<ResultSetHeader>(
      `INSERT INTO \`${table}\` (word, count) VALUES ? ON DUPLICATE KEY UPDATE count = count + VALUES(count)`,
      [[['spark', 2], ['dstream', 5]]])
    t.equal(upsert.affectedRows, 3, 'one row updated (2) and one inserted (1)')
    t.same(await words(), [{ word: 'dstream', count: 5 }, { word: 'spark', count: 5 }, { word: 'stream', count: 1 }, { word: 'é✓', count: 2 }],
      'the count is added to in place')
  } finally {
    await client.query(`DROP TABLE IF EXISTS \`${table}\``)
    const [left] = await client.query<RowDataPacket[]>('SHOW TABLES LIKE ?', [table])
    t.equal(left.length, 0, 'the table is dropped')
    await client.end()
  }
})
