// to-sql into each database for real: SQLite always, MariaDB and PostgreSQL from
// test/services.ts. Every case runs against every database; each batch is one
// transaction with its marker in dstream_commits, so a replayed batch lands once.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { freshDir, runTable, runWords, sh } from '../helpers.js'
import { databases, dropTables, freshDatabase, query, tableRows, uniqueTable, type Db } from '../sqlHelpers.js'

/** Runs to-sql over the batches with a state directory of its own (or the one given). */
function toSql (db: Db, args: string[], input: unknown[][], options: { state?: string, chunk?: number } = {}) {
  return runTable(['to-sql', db.url, ...args], input, { chunk: options.chunk, env: { DSTREAM_STATE_DIR: options.state ?? freshDir() } })
}

t.test('cases', async t => {
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const tables: string[] = []
      const table = (prefix: string) => { const name = uniqueTable(prefix); tables.push(name); return name }
      t.teardown(() => dropTables(db.url, tables))

      const pairs = table('pairs')
      const ran = await toSql(db, ['--table', pairs, '--columns', 'word,count', '--create'], [[['a', 1], ['b', 2]], [['a', 3]]])
      t.equal(ran.code, 0, ran.stderr)
      t.equal(ran.stdout, '', 'nothing on stdout without --pass')
      t.match(ran.stderr, new RegExp(`created the table ${pairs} in .*CREATE TABLE`), 'says what it created')
      t.same(await tableRows(db.url, pairs, ['word', 'count']), [['a', 1], ['a', 3], ['b', 2]], 'insert: pairs appended, two columns')

      const objects = table('objects')
      await query(db.url, `CREATE TABLE ${objects} (ip VARCHAR(40), status INTEGER, bytes DOUBLE PRECISION, ok BOOLEAN, ts BIGINT)`)
      const obj = await toSql(db, ['--table', objects, '--batch-column', 'ts'], [[{ ip: '1.2.3.4', status: 200, bytes: 1.5, ok: true }, { ip: '5.6.7.8', status: 404 }]])
      t.equal(obj.code, 0, obj.stderr)
      const got = await tableRows(db.url, objects, ['ip', 'status', 'bytes', 'ok', 'ts'])
      t.same(got.map(r => [r[0], r[1], r[2], r[3] === null ? null : Boolean(r[3]), r[4]]), [['1.2.3.4', 200, 1.5, true, 1000], ['5.6.7.8', 404, null, null, 1000]],
        'objects by field name, a missing field NULL, the batch time in --batch-column')

      const scalars = table('scalars')
      const sc = await toSql(db, ['--table', scalars, '--create'], [['x', 'y'], ['z']])
      t.equal(sc.code, 0, sc.stderr)
      t.same(await tableRows(db.url, scalars, ['value']), [['x'], ['y'], ['z']], 'a scalar fills the column value')

      const running = table('running')
      const up = await toSql(db, ['--table', running, '--columns', 'word,total', '--mode', 'upsert', '--key', 'word', '--create'], [[['a', 1], ['b', 1]], [['a', 5]], [['b', 7], ['b', 9]]])
      t.equal(up.code, 0, up.stderr)
      t.same(await tableRows(db.url, running, ['word', 'total']), [['a', 5], ['b', 9]], 'upsert: the row of a key replaced (within a batch the last wins)')

      const counts = table('counts')
      const add = await toSql(db, ['--table', counts, '--columns', 'word,count', '--mode', 'add', '--key', 'word', '--create'], [[['a', 1], ['b', 2]], [['a', 3], ['a', 4]], []])
      t.equal(add.code, 0, add.stderr)
      t.same(await tableRows(db.url, counts, ['word', 'count']), [['a', 8], ['b', 2]], 'add: the numbers added to the stored ones')

      const typed = table('typed')
      const ty = await toSql(db, ['--table', typed, '--create'], [[{ n: 1, x: 1.5, s: 'text', b: false, j: { deep: [1] } }]])
      t.equal(ty.code, 0, ty.stderr)
      const [row] = await query(db.url, `SELECT * FROM ${typed}`)
      t.equal(Number(row.n), 1)
      t.equal(Number(row.x), 1.5)
      t.equal(row.s, 'text')
      t.equal(Boolean(row.b), false)
      t.same(typeof row.j === 'string' ? JSON.parse(row.j) : row.j, { deep: [1] }, 'an object as JSON')

      const passed = table('passed')
      const pass = await toSql(db, ['--table', passed, '--create', '--pass'], [['p'], []])
      t.same(pass.records, [['p'], []], '--pass forwards the batches unchanged')

      const [marker] = await query(db.url, `SELECT COUNT(*) AS n FROM dstream_commits`)
      t.ok(Number(marker.n) >= 7, 'every sink has its marker in dstream_commits')
    })
  }
})

t.test('edge cases', async t => {
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const tables: string[] = []
      const table = (prefix: string) => { const name = uniqueTable(prefix); tables.push(name); return name }
      t.teardown(() => dropTables(db.url, tables))

      const empty = table('empty')
      const state = freshDir()
      const none = await toSql(db, ['--table', empty, '--columns', 'word,count', '--create'], [[], []], { state })
      t.equal(none.code, 0, none.stderr)
      const sink = fs.readdirSync(state).find(n => n.startsWith('to-sql-'))
      t.same(await query(db.url, `SELECT batch_time FROM dstream_commits WHERE sink = '${sink}'`), [{ batch_time: 2000 }], 'empty batches still move the marker')
      t.notMatch(none.stderr, /created the table empty/, 'and a table to create waits for records (its types come from them)')

      const whole = table('whole')
      const chunked = table('chunked')
      const records = Array.from({ length: 25 }, (_, i) => [`w${i % 7}`, i])
      await toSql(db, ['--table', whole, '--columns', 'word,count', '--mode', 'add', '--key', 'word', '--create'], [records])
      await toSql(db, ['--table', chunked, '--columns', 'word,count', '--mode', 'add', '--key', 'word', '--create'], [records], { chunk: 4 })
      t.same(await tableRows(db.url, chunked, ['word', 'count']), await tableRows(db.url, whole, ['word', 'count']), 'a batch in many chunks gives the same table')

      const many = table('many')
      const big = Array.from({ length: 12_345 }, (_, i) => [`k${i}`, i])
      const bulk = await toSql(db, ['--table', many, '--columns', 'k,v', '--create'], [big])
      t.equal(bulk.code, 0, bulk.stderr)
      const [{ n, s }] = await query(db.url, `SELECT COUNT(*) AS n, SUM(v) AS s FROM ${many}`)
      t.same([Number(n), Number(s)], [12_345, 12_345 * 12_344 / 2], 'a batch larger than one statement holds: every row, once')

      const open = await runWords(['to-sql', db.url, '--table', table('open'), '--create'], '{"time":1000,"interval":1000,"records":["a"],"more":true}\n')
      t.equal(open.code, 1, 'input ending inside a batch: exit 1, the partial batch is not written')

      // the sinks of one pipeline start at once on a database without dstream_commits
      // (PostgreSQL's CREATE TABLE IF NOT EXISTS alone fails under a concurrent one)
      const fresh = await freshDatabase(t, db)
      const together = await Promise.all(Array.from({ length: 6 }, (_, i) => toSql({ ...db, url: fresh }, ['--table', `sink${i}`, '--columns', 'word,count', '--create'], [[['a', i]]])))
      t.same(together.map(r => r.code), together.map(() => 0), `six sinks started at once each make their start: ${together.map(r => r.stderr).filter(e => /exit|error|violat/i.test(e)).join(' ')}`)
      t.same((await query(fresh, 'SELECT COUNT(*) AS n FROM dstream_commits')).map(r => Number(r.n)), [6], 'and each has its marker')
    })
  }
})

t.test('restart: a replayed batch lands once', async t => {
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const counts = uniqueTable('replay')
      t.teardown(() => dropTables(db.url, [counts]))
      const args = ['--table', counts, '--columns', 'word,count', '--mode', 'add', '--key', 'word', '--create']
      const batches = [[['a', 1]], [['a', 2], ['b', 1]], [['b', 5]], [['c', 1]]]
      const first = await toSql(db, args, batches.slice(0, 2))
      t.equal(first.code, 0, first.stderr)
      // a restart with a new state directory: only the database's marker knows what was written
      const second = await toSql(db, args, batches)
      t.equal(second.code, 0, second.stderr)
      t.match(second.stderr, /batches up to 2000 are in .* already .*skipped/, 'says what it skips')
      t.same(await tableRows(db.url, counts, ['word', 'count']), [['a', 3], ['b', 6], ['c', 1]], 'the replayed batches are not added twice')
    })
  }
})

t.test('bad input', async t => {
  for (const db of await databases(t)) {
    await t.test(db.name, async t => {
      const tables: string[] = []
      const table = (prefix: string) => { const name = uniqueTable(prefix); tables.push(name); return name }
      t.teardown(() => dropTables(db.url, tables))

      const typed = table('typed')
      await query(db.url, `CREATE TABLE ${typed} (word VARCHAR(20) PRIMARY KEY, count BIGINT NOT NULL CHECK (count >= 0))`)
      const args = ['--table', typed, '--columns', 'word,count']
      const wrong = await toSql(db, args, [[['a', 1], ['b', 'many']]])
      t.equal(wrong.code, 65, 'a value its column cannot take: exit 65')
      t.match(wrong.stderr, new RegExp(`dstream to-sql: batch 1000: ${typed}: column count is .*cannot take "many": \\["b","many"\\]`), 'naming the batch, the table, the column and the record')
      t.same(await tableRows(db.url, typed, ['word', 'count']), [], 'and nothing of the batch is written')

      const refused = await toSql(db, args, [[['a', 1], ['b', -5], ['c', 2]]])
      t.equal(refused.code, 65, 'a row the database refuses (a CHECK): exit 65')
      t.match(refused.stderr, new RegExp(`batch 1000: table ${typed} refused it: .*\\["b",-5\\]`), 'naming the table, its reason and the record')
      t.same(await tableRows(db.url, typed, ['word', 'count']), [], 'nothing of the batch is written')

      const state = freshDir()
      const skipped = await toSql(db, [...args, '--on-bad-input', 'skip'], [[['a', 1], ['b', -5], ['c', 2], ['d', 'x']], [['e', 3]]], { state })
      t.equal(skipped.code, 0, skipped.stderr)
      t.same(await tableRows(db.url, typed, ['word', 'count']), [['a', 1], ['c', 2], ['e', 3]], '--on-bad-input skip: the rest of the batch is written, once')
      const dead = fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
      t.same(dead.map(d => d.record).sort(), [['b', -5], ['d', 'x']].sort(), 'the refused records are in the dead-letter file, once each')
      t.match(skipped.stderr, /2 inputs set aside/, 'and counted')

      const dup = table('dup')
      await query(db.url, `CREATE TABLE ${dup} (word VARCHAR(20) PRIMARY KEY, count BIGINT)`)
      const twice = await toSql(db, ['--table', dup, '--columns', 'word,count'], [[['a', 1]], [['a', 2]]])
      t.equal(twice.code, 65, 'insert of a key that is there: refused, exit 65')
      t.same(await tableRows(db.url, dup, ['word', 'count']), [['a', 1]], 'the first batch stays, the second is not written')

      const field = await toSql(db, ['--table', dup], [[{ word: 'z', count: 1, extra: true }]])
      t.equal(field.code, 65, 'an object with a field the table has no column for')
      t.match(field.stderr, new RegExp(`${dup}: table ${dup} has no column extra`))
    })
  }
})

t.test('usage and start errors', async t => {
  const dir = freshDir()
  const url = `sqlite:${dir}/u.db`
  const usage = async (words: string[], why: RegExp, env: NodeJS.ProcessEnv = {}) => {
    const ran = await runWords(['to-sql', ...words], '', env)
    t.equal(ran.code, 2, `exit 2: ${words.join(' ')}`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /Usage: dstream to-sql/)
  }
  const saved = process.env.DSTREAM_SQL_URL
  delete process.env.DSTREAM_SQL_URL
  await usage(['--table', 't'], /no database: give a URL, --url-file FILE or \$DSTREAM_SQL_URL/)
  if (saved !== undefined) process.env.DSTREAM_SQL_URL = saved
  await usage(['oracle://u:hunter2@h/db', '--table', 't'], /unknown database 'oracle'/)
  await usage(['mysql://u:hunter2@h', '--table', 't'], /names no database/)
  await usage([url, '--table', 't', '--mode', 'add'], /--mode add needs --key/)
  await usage([url, '--table', 't', '--key', 'a'], /--key is for --mode upsert and add/)
  await usage([url], /Missing required argument: table/)
  await usage([url, '--table', 't', '--give-up', 'soon'], /bad --give-up 'soon'/)

  const missing = await runWords(['to-sql', url, '--table', 'nothere'], '')
  t.equal(missing.code, 1, 'a table that does not exist, without --create: exit 1 at start')
  t.match(missing.stderr, /there is no table nothere in sqlite:.*give --create/)

  await query(url, 'CREATE TABLE plain (word TEXT, count INTEGER)', 'CREATE TABLE texts (id INTEGER PRIMARY KEY, word TEXT)')
  const notUnique = await runWords(['to-sql', url, '--table', 'plain', '--mode', 'upsert', '--key', 'word'], '')
  t.equal(notUnique.code, 1, 'a key that is not unique in the table: exit 1 at start')
  t.match(notUnique.stderr, /no primary key or unique index on exactly word/)
  const noColumn = await runWords(['to-sql', url, '--table', 'plain', '--columns', 'word,total'], '')
  t.match(noColumn.stderr, /table plain has no column total/, 'a column that is not there')
  const textAdd = await runTable(['to-sql', url, '--table', 'texts', '--columns', 'id,word', '--mode', 'add', '--key', 'id'], [[[1, 'a']]])
  t.equal(textAdd.code, 1)
  t.match(textAdd.stderr, /--mode add adds numbers, but word is TEXT/, 'add into a text column')
})

t.test('the URL from the environment or a file, and never a password said', async t => {
  const dir = freshDir()
  const url = `sqlite:${dir}/env.db`
  const fromEnv = await sh(`printf 'x\\n' | dstream batch 100ms | dstream to-sql --table e --create`, { env: { DSTREAM_SQL_URL: url } })
  t.equal(fromEnv.code, 0, fromEnv.stderr)
  fs.writeFileSync(`${dir}/url`, url + '\n')
  const fromFile = await runTable(['to-sql', '--url-file', `${dir}/url`, '--table', 'e'], [['y']])
  t.equal(fromFile.code, 0, fromFile.stderr)
  t.same(await tableRows(url, 'e', ['value']), [['x'], ['y']], 'both wrote into the database named')

  // nothing answers on port 1: the password must not show, in messages or in the state directory
  const state = freshDir()
  const away = await runWords(['to-sql', 'postgres://dstream:hunter2@127.0.0.1:1/db', '--table', 't', '--give-up', '300ms', '--state-dir', state], '')
  t.equal(away.code, 1, 'a database that stays away, with --give-up: exit 1')
  t.match(away.stderr, /at start: postgres:\/\/dstream:\*\*\*@127\.0\.0\.1:1\/db: ECONNREFUSED; trying again/, 'the retries are said')
  t.notMatch(away.stderr, /hunter2/, 'the password is never said')
  const meta = fs.readdirSync(state).map(n => path.join(state, n, 'meta.json')).filter(f => fs.existsSync(f)).map(f => fs.readFileSync(f, 'utf8')).join('')
  t.notMatch(meta, /hunter2/, 'nor kept in the state directory')
})
