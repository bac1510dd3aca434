// sql: a DuckDB query on every batch. Cases as tables of input and output batches;
// static tables from files, read again when they change; empty, chunked and
// windowed batches; bad records and failing queries; usage errors; a restart inside a
// stateful pipeline.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { DuckDBInstance } from '@duckdb/node-api'
import { freshDir, runTable, runWords } from '../helpers.js'

const WORDS = [['to', 'be', 'or', 'not', 'to', 'be'], ['be', 'quick']]
const COUNT = "SELECT word, count(*) AS total FROM batch GROUP BY word ORDER BY word"

t.test('cases', async t => {
  const counted = await runTable(['sql', '--columns', 'word', COUNT], WORDS)
  t.equal(counted.code, 0, counted.stderr)
  t.same(counted.records, [
    [{ word: 'be', total: 2 }, { word: 'not', total: 1 }, { word: 'or', total: 1 }, { word: 'to', total: 2 }],
    [{ word: 'be', total: 1 }, { word: 'quick', total: 1 }]
  ], 'the word count of every batch (EXAMPLES job 12), count(*) as a number')
  t.ok(counted.batches.every((b, i) => b.time === (i + 1) * 1000 && b.interval === 1000), 'with the time and interval of its batch')

  const pairs = await runTable(['sql', 'SELECT key, sum(value) AS n FROM batch GROUP BY key ORDER BY key', '--as', 'pairs'], [[['a', 1], ['b', 2], ['a', 3.5]]])
  t.same(pairs.records, [[['a', 4.5], ['b', 2]]], 'a pair is key, value; --as pairs makes rows of two columns pairs')

  const objects = await runTable(['sql', "SELECT ip, status, bytes * 2 AS twice, meta->>'$.agent' AS agent FROM batch WHERE status >= 400 ORDER BY ip"], [[
    { ip: '1.1.1.1', status: 200, bytes: 10, meta: { agent: 'curl' } },
    { ip: '2.2.2.2', status: 404, bytes: 1.5, meta: { agent: 'wget' } },
    { ip: '3.3.3.3', status: 500, bytes: null, meta: null }
  ]])
  t.equal(objects.code, 0, objects.stderr)
  t.same(objects.records, [[{ ip: '2.2.2.2', status: 404, twice: 3, agent: 'wget' }, { ip: '3.3.3.3', status: 500, twice: null, agent: null }]], "an object's fields are columns; nested values are JSON (->>)")

  const values = await runTable(['sql', "SELECT upper(value) FROM batch", '--as', 'values'], [['a', 'b']])
  t.same(values.records, [['A', 'B']], 'a scalar is value; --as values makes rows of one column values')

  const time = await runTable(['sql', 'SELECT $batch_time AS t, count(*) AS n FROM batch'], [['x'], ['y', 'z']], { interval: 5000 })
  t.same(time.records, [[{ t: 5000, n: 1 }], [{ t: 10000, n: 2 }]], 'the batch time is the parameter $batch_time')

  const typed = await runTable(['sql', '--schema', 'ip VARCHAR, ts TIMESTAMP, n BIGINT', 'SELECT ip, ts, n + 1 AS m, typeof(n) AS t FROM batch'], [[{ ip: 'a', ts: '2024-05-01 10:00:00', n: 41 }]])
  t.equal(typed.code, 0, typed.stderr)
  t.same(typed.records, [[{ ip: 'a', ts: '2024-05-01T10:00:00.000Z', m: 42, t: 'BIGINT' }]], '--schema fixes the types: a timestamp from its text, out as ISO')

  const big = await runTable(['sql', '--schema', 'n BIGINT', 'SELECT n * 1000000 AS n FROM batch'], [[{ n: 9007199254741 }]])
  t.same(big.records, [[{ n: '9007199254741000000' }]], 'a whole number past 2^53 comes as a string, exactly')

  const windowed = await runTable(['window', '--length', '3s', '--slide', '2s', 'then', 'sql', '--columns', 'word', COUNT], [['a'], ['b'], ['a'], ['c']])
  t.same(windowed.records, [[{ word: 'a', total: 1 }, { word: 'b', total: 1 }], [{ word: 'a', total: 1 }, { word: 'b', total: 1 }, { word: 'c', total: 1 }]],
    'after a window, once per window (Spark: windowed DStream, then SQL)')
  t.same(windowed.batches.map(b => [b.time, b.interval]), [[2000, 2000], [4000, 2000]], "at the window's end, every slide")
})

t.test('static tables from files (stream-static joins), read again when they change', async t => {
  const dir = freshDir()
  fs.writeFileSync(`${dir}/users.csv`, 'id,country\n1,fr\n2,de\n')
  fs.writeFileSync(`${dir}/names.ndjson`, '{"id":1,"name":"ann"}\n{"id":2,"name":"bob"}\n')
  fs.writeFileSync(`${dir}/tags.json`, '[{"id":1,"tag":"new"}]')
  const duck = await (await DuckDBInstance.create(':memory:')).connect()
  await duck.run(`COPY (SELECT 1 AS id, 7.5 AS score UNION ALL SELECT 2, 1.0) TO '${dir}/scores.parquet' (FORMAT parquet)`)
  duck.closeSync()
  const query = 'SELECT u.country, n.name, g.tag, s.score, count(*) AS clicks FROM batch b JOIN users u ON b.user = u.id JOIN names n ON n.id = b.user LEFT JOIN tags g ON g.id = b.user JOIN scores s ON s.id = b.user GROUP BY ALL ORDER BY u.country'
  const args = ['sql', ...['users.csv', 'names.ndjson', 'tags.json', 'scores.parquet'].flatMap(f => ['--table', `${f.split('.')[0]}=${dir}/${f}`]), query]
  const joined = await runTable(args, [[{ user: 1 }, { user: 2 }, { user: 1 }]])
  t.equal(joined.code, 0, joined.stderr)
  t.same(joined.records, [[
    { country: 'de', name: 'bob', tag: null, score: 1, clicks: 1 },
    { country: 'fr', name: 'ann', tag: 'new', score: 7.5, clicks: 2 }
  ]], 'CSV, NDJSON, JSON and Parquet tables joined with the stream')

  // the file changes between runs: the next run sees the new table (and between batches: the next test)
  const sqlArgs = ['sql', '--table', `users=${dir}/users.csv`, 'SELECT u.country, count(*) AS n FROM batch b JOIN users u ON b.user = u.id GROUP BY ALL']
  const chain = await runTable(sqlArgs, [[{ user: 1 }]])
  t.same(chain.records, [[{ country: 'fr', n: 1 }]])
  fs.writeFileSync(`${dir}/users.csv`, 'id,country\n1,it\n')
  const after = await runTable(sqlArgs, [[{ user: 1 }]])
  t.same(after.records, [[{ country: 'it', n: 1 }]], 'a file rewritten is read again')

  const missing = await runWords(['sql', '--table', `x=${dir}/none.csv`, 'SELECT 1'], '')
  t.equal(missing.code, 2, 'a --table file that is not there: exit 2')
  t.match(missing.stderr, /--table x=.*none\.csv: no such file/)
  const named = await runWords(['sql', '--table', `batch=${dir}/users.csv`, 'SELECT 1'], '')
  t.equal(named.code, 2, '--table batch=... is refused')
})

t.test('a table read again between the batches of one run', async t => {
  const dir = freshDir()
  fs.writeFileSync(`${dir}/black.csv`, 'user\nzs\n')
  const lines = [
    '{"time":1000,"interval":1000,"records":[{"user":"zs"},{"user":"ls"}]}',
    '{"time":2000,"interval":1000,"records":[{"user":"zs"},{"user":"ls"}]}'
  ]
  // a require'd module rewrites the file at the first record of the second batch: that batch's query sees it
  fs.writeFileSync(`${dir}/touch.cjs`, `let n = 0; module.exports = { touch: r => { if (++n === 3) require('fs').writeFileSync(${JSON.stringify(dir + '/black.csv')}, 'user\\nls\\nww\\n'); return r } }`)
  const ran = await runWords(['map', '-r', `${dir}/touch.cjs`, 'touch', 'then', 'sql', '--table', `black=${dir}/black.csv`, 'SELECT user FROM batch WHERE user NOT IN (SELECT user FROM black)'], lines.join('\n') + '\n')
  t.equal(ran.code, 0, ran.stderr)
  const out = ran.stdout.trim().split('\n').map(l => JSON.parse(l).records)
  t.same(out, [[{ user: 'ls' }], [{ user: 'zs' }]], 'EXAMPLES job 6 with SQL: the blacklist edited takes effect at the next batch')
})

t.test('edge cases', async t => {
  const early = await runTable(['sql', 'SELECT count(*) AS n FROM batch'], [[], ['a'], []])
  t.same(early.records, [[], [{ n: 1 }], [{ n: 0 }]], 'before the first records there is no table (an empty result); after them an empty batch is an empty table: count(*) is 0')
  const schema = await runTable(['sql', '--schema', 'value VARCHAR', 'SELECT count(*) AS n FROM batch'], [[], ['a']])
  t.same(schema.records, [[{ n: 0 }], [{ n: 1 }]], 'with --schema the query runs from the first batch')

  const records = Array.from({ length: 5000 }, (_, i) => [`k${i % 37}`, i])
  const query = 'SELECT key, sum(value) AS s, count(*) AS n FROM batch GROUP BY key ORDER BY key'
  const whole = await runTable(['sql', query], [records])
  const chunked = await runTable(['sql', query], [records], { chunk: 7 })
  t.same(chunked.records, whole.records, 'a batch in many chunks gives the same result')
  t.equal((whole.records[0] as Array<{ n: number }>).reduce((a, r) => a + r.n, 0), 5000, 'over more rows than one data chunk holds')

  const none = await runTable(['sql', 'SELECT 1'], [])
  t.equal(none.code, 0, 'no input: exit 0')
  const open = await runWords(['sql', 'SELECT * FROM batch'], '{"time":1000,"interval":1000,"records":["a"],"more":true}\n')
  t.equal(open.code, 1, 'input ending inside a batch: exit 1, nothing of it emitted')
  t.equal(open.stdout, '')
})

t.test('bad input', async t => {
  const wrong = await runTable(['sql', 'SELECT sum(n) AS s FROM batch'], [[{ n: 1 }], [{ n: 2 }, { n: 'three' }]])
  t.equal(wrong.code, 65, 'a value its column cannot take: exit 65')
  t.match(wrong.stderr, /^dstream sql: batch 2000: column n is DOUBLE, which cannot take "three": \{"n":"three"\}/, 'naming the batch, the column and the record')
  t.same(wrong.records, [[{ s: 1 }]], 'the batches before it')

  const dir = freshDir()
  const skipped = await runTable(['sql', 'SELECT sum(n) AS s FROM batch', '--on-bad-input', 'skip', '--dead-letter', `${dir}/dead.ndjson`], [[{ n: 1 }], [{ n: 2 }, { n: 'three' }, { n: 4, extra: 1 }]])
  t.equal(skipped.code, 0, skipped.stderr)
  t.same(skipped.records, [[{ s: 1 }], [{ s: 2 }]], '--on-bad-input skip: the rest of the batch is queried')
  const dead = fs.readFileSync(`${dir}/dead.ndjson`, 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(dead.map(d => [d.time, d.record, d.reason]), [[2000, { n: 'three' }, 'column n is DOUBLE, which cannot take "three"'], [2000, { n: 4, extra: 1 }, 'batch has no column extra (its columns: n)']], 'set aside, with why')

  const failing = await runTable(['sql', 'SELECT CAST(value AS INTEGER) AS n FROM batch'], [['1'], ['x']])
  t.equal(failing.code, 65, 'a query that fails on a batch: exit 65')
  t.match(failing.stderr, /dstream sql: batch 2000: the query failed on this batch: Conversion Error/, "with DuckDB's reason")
})

t.test('usage errors', async t => {
  const usage = async (words: string[], why: RegExp, input: unknown[][] = []) => {
    const ran = await runTable(['sql', ...words], input)
    t.equal(ran.code, 2, `exit 2: sql ${words.join(' ')}`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /Usage: dstream sql QUERY/)
  }
  await usage(['SELEC word FROM batch'], /the query does not parse: .*syntax error at or near "SELEC"\n\nLINE 1: SELEC word FROM batch\n\s+\^/)
  await usage(['SELECT 1; SELECT 2'], /the query must be one statement, it is 2/)
  await usage(['--schema', 'word VARCHAR', 'SELECT total FROM batch'], /the query does not bind: Binder Error: Referenced column "total" not found/)
  await usage(['SELECT total FROM batch'], /the query does not bind/, [['a']])
  await usage(['--schema', 'word NOTATYPE', 'SELECT 1'], /--schema "word NOTATYPE": .*NOTATYPE/)
  await usage(['SELECT $other FROM batch', '--schema', 'a INT'], /the query's parameter \$other is not known: the only one is \$batch_time/)
  await usage(['SELECT 1, 2, 3 FROM batch', '--as', 'pairs'], /--as pairs needs two columns, the query gives 3/, [['a']])
  await usage(['SELECT 1', '--table', 'x'], /--table x: expected NAME=FILE/)
  await usage(['SELECT 1', '--columns', 'a,b,c'], /--columns names the one or two columns/)
})

t.test('restart inside a stateful pipeline: a run split in two equals one run', async t => {
  const dir = freshDir()
  const chain = (state: string) => ['sql', '--as', 'pairs', 'SELECT key, sum(value) FROM batch GROUP BY key', 'then', 'update-state-by-key', '(vs, s = 0) => vs.reduce((a, b) => a + b, s)', '--state-dir', state]
  const input = [[['a', 1], ['b', 2]], [['a', 3]], [['b', 1], ['c', 5]], [['a', 1]]]
  const whole = await runTable(chain(path.join(dir, 'whole')), input)
  const first = await runTable(chain(path.join(dir, 'split')), input.slice(0, 2))
  const rest = await runTable(chain(path.join(dir, 'split')), input.slice(2), { start: 3000 })
  t.equal(rest.code, 0, rest.stderr)
  const sorted = (batches: unknown[][]) => batches.map(b => [...b].sort((x, y) => JSON.stringify(x) < JSON.stringify(y) ? -1 : 1))
  t.same(sorted([...first.records, ...rest.records]), sorted(whole.records), 'the running totals of sql\'s per-batch sums go on where they stopped')
  t.match(rest.stderr, /resuming from the checkpoint of batch 2000/)
})
