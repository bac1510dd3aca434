// to-redis against a real Redis (scripts/redis/server.sh on 127.0.0.1:16379, and
// private servers of its own for the tests that stop one or speak TLS): each batch
// in one MULTI/EXEC with its marker dstream:commit:NAME; a batch replayed after a
// restart is skipped, so HINCRBY counts every record once; commands Redis refuses
// are set aside; a server stopped and started under a running pipeline loses nothing.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { formatChunk } from '../../lib/core/wire.js'
import { DSTREAM, ROOT, batchLines, freshDir, runTable, runWords, sh, userEnv } from '../helpers.js'
import { redis } from '../services.js'
import { freePort } from '../sources/live.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

let made = 0

interface Server {
  url: string
  /** what every key of this test starts with, and its --name */
  prefix: string
  client: Redis
  /** every key of this test (but the marker), with what it holds */
  dump(): Promise<Record<string, unknown>>
  /** the marker of the to-redis named `name` */
  marker(name?: string): Promise<string | null>
}

function clientOf (address: string): Redis {
  const colon = address.lastIndexOf(':')
  return new Redis({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), lazyConnect: true, maxRetriesPerRequest: 1 })
}

/** Everything under `prefix`, by type: hashes as objects, sorted sets as member → score. */
async function dump (client: Redis, prefix: string): Promise<Record<string, unknown>> {
  const found: Record<string, unknown> = {}
  for (const key of (await client.keys(`${prefix}:*`)).sort()) {
    const type = await client.type(key)
    if (type === 'hash') found[key] = await client.hgetall(key)
    else if (type === 'string') found[key] = await client.get(key)
    else if (type === 'zset') {
      const flat = await client.zrange(key, 0, -1, 'WITHSCORES')
      found[key] = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], Number(flat[2 * i + 1])]))
    } else found[key] = type
  }
  return found
}

/** The test Redis, a prefix of this test's own, and its keys deleted at the end. */
async function server (t: Test): Promise<Server | undefined> {
  const address = await redis(t)
  if (!address) return undefined
  const client = clientOf(address)
  await client.connect()
  const prefix = `to-redis-test-${process.pid}-${Date.now()}-${++made}`
  t.teardown(async () => {
    const keys = [...await client.keys(`${prefix}*`), ...await client.keys(`dstream:commit:${prefix}*`)]
    if (keys.length) await client.del(...keys)
    await client.quit()
  })
  return { url: `redis://${address}`, prefix, client, dump: () => dump(client, prefix), marker: (name = prefix) => client.get(`dstream:commit:${name}`) }
}

/** Course counts by day, as the issue has them: {day, course, count}. */
const DAYS = [
  [{ day: 'mon', course: 'spark', count: 2 }, { day: 'mon', course: 'flink', count: 1 }],
  [],
  [{ day: 'mon', course: 'spark', count: 3 }, { day: 'tue', course: 'beam', count: 5 }]
]
const hincrby = (prefix: string) => `r => ['HINCRBY', '${prefix}:day_course:' + r.day, r.course, r.count]`

// ---- cases ----

t.test('cases: FN commands into hashes, each batch in one transaction with its marker', async t => {
  const r = await server(t)
  if (!r) return
  const ran = await runTable(['to-redis', r.url, hincrby(r.prefix), '--name', r.prefix], DAYS)
  t.equal(ran.code, 0, ran.stderr)
  t.equal(ran.stdout, '', 'nothing on stdout without --pass')
  t.same(await r.dump(), {
    [`${r.prefix}:day_course:mon`]: { spark: '5', flink: '1' },
    [`${r.prefix}:day_course:tue`]: { beam: '5' }
  }, 'HINCRBY per record')
  t.equal(await r.marker(), '3000', `the marker dstream:commit:${r.prefix} holds the last batch time`)
})

t.test('cases: a list of commands, [] for none, the shorthands, --pass', async t => {
  const r = await server(t)
  if (!r) return
  const p = r.prefix
  const input = [[{ id: 1, w: 'spark', n: 2 }, { id: 2, w: 'flink', n: 1, skip: true }], [{ id: 3, w: 'spark', n: 1.5 }]]
  const ran = await runTable(['to-redis', r.url, '--name', p,
    `r => r.skip ? [] : [['RPUSH', '${p}:ids', r.id], ['SADD', '${p}:words', r.w]]`,
    '--incrby', `'${p}:total'`, 'Math.ceil(_.n)',
    '--hincrby', `'${p}:h'`, '_.w', '1', '--hincrby', `'${p}:h'`, "'all'", '1',
    '--hset', `'${p}:last'`, '_.w', '_',
    '--set', `'${p}:s:' + _.id`, '_.w',
    '--zincrby', `'${p}:z'`, '_.n', '_.w',
    '--pass'], input)
  t.equal(ran.code, 0, ran.stderr)
  t.same(ran.records, input, '--pass forwards the batches unchanged')
  const got = await r.dump()
  t.same(got, {
    [`${p}:h`]: { spark: '2', flink: '1', all: '3' },
    [`${p}:ids`]: 'list',
    [`${p}:last`]: { spark: JSON.stringify(input[1][0]), flink: JSON.stringify(input[0][1]) },
    [`${p}:s:1`]: 'spark',
    [`${p}:s:2`]: 'flink',
    [`${p}:s:3`]: 'spark',
    [`${p}:total`]: '5',
    [`${p}:words`]: 'set',
    [`${p}:z`]: { flink: 1, spark: 3.5 }
  }, 'FN\'s commands and every shorthand, each as often as given; a value that is not a string as JSON')
  t.same(await r.client.lrange(`${p}:ids`, 0, -1), ['1', '3'], "a list of commands; [] gives none (record 2's)")
  t.same((await r.client.smembers(`${p}:words`)).sort(), ['spark'])
})

t.test('cases: the URL from $DSTREAM_REDIS_URL or --url-file, a database from the URL', async t => {
  const r = await server(t)
  if (!r) return
  // a real process: to-redis reads its environment
  const fromEnv = await sh(`dstream to-redis "r => ['INCRBY', '${r.prefix}:env', r]" --name ${r.prefix}`, { input: batchLines([[1, 2]]), env: { DSTREAM_REDIS_URL: r.url } })
  t.equal(fromEnv.code, 0, fromEnv.stderr)
  t.equal(await r.client.get(`${r.prefix}:env`), '3', 'one word that is not a URL is FN; the server from $DSTREAM_REDIS_URL')
  const file = path.join(t.testdir(), 'redis.url')
  fs.writeFileSync(file, `${r.url}/5\n`)
  const fromFile = await runTable(['to-redis', '--url-file', file, '--incrby', `'${r.prefix}:db5'`, '_', '--name', `${r.prefix}-db5`], [[4]])
  t.equal(fromFile.code, 0, fromFile.stderr)
  const db5 = r.client.duplicate({ db: 5 })
  await db5.connect()
  t.equal(await db5.get(`${r.prefix}:db5`), '4', '--url-file, and database 5 from the URL')
  t.equal(await db5.get(`dstream:commit:${r.prefix}-db5`), '1000', 'the marker is in the same database')
  t.equal(await r.client.get(`${r.prefix}:db5`), null, 'nothing in database 0')
  await db5.del(`${r.prefix}:db5`, `dstream:commit:${r.prefix}-db5`)
  await db5.quit()
})

// ---- edge cases ----

t.test('edge cases: empty batches, chunks, end of input, one large batch', async t => {
  const r = await server(t)
  if (!r) return
  const empty = await runTable(['to-redis', r.url, hincrby(r.prefix), '--name', r.prefix], [[], [], []])
  t.equal(empty.code, 0, empty.stderr)
  t.same(await r.dump(), {}, 'empty batches write nothing')
  t.equal(await r.marker(), '3000', 'but move the marker on')

  const records = Array.from({ length: 40 }, (_, i) => ({ day: `d${i % 3}`, course: `c${i % 7}`, count: i }))
  const whole = await runTable(['to-redis', r.url, hincrby(`${r.prefix}:whole`), '--name', `${r.prefix}-whole`], [records, records.slice(5)])
  const chunked = await runTable(['to-redis', r.url, hincrby(`${r.prefix}:chunked`), '--name', `${r.prefix}-chunked`], [records, records.slice(5)], { chunk: 3 })
  t.equal(whole.code + chunked.code, 0, whole.stderr + chunked.stderr)
  const got = await r.dump()
  const under = (p: string) => Object.fromEntries(Object.entries(got).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]))
  t.ok(Object.keys(under(`${r.prefix}:whole`)).length === 3, 'three hashes')
  t.same(under(`${r.prefix}:chunked`), under(`${r.prefix}:whole`), 'a batch in many chunks gives what it gives whole')

  const none = await runTable(['to-redis', r.url, hincrby(r.prefix), '--name', `${r.prefix}-none`], [])
  t.equal(none.code, 0, 'no input: exit 0')
  t.equal(await r.marker(`${r.prefix}-none`), null, 'and no marker')

  const large = Array.from({ length: 50_000 }, (_, i) => i)
  const big = await runTable(['to-redis', r.url, '--hincrby', `'${r.prefix}:big'`, '_ % 100', '1', '--name', `${r.prefix}-big`], [large])
  t.equal(big.code, 0, big.stderr)
  const counts = await r.client.hgetall(`${r.prefix}:big`)
  t.equal(Object.keys(counts).length, 100)
  t.ok(Object.values(counts).every(n => n === '500'), 'a batch of 50000 records in one transaction')
})

// ---- bad input ----

t.test('bad input: a function that throws, and what is not a command, before anything is sent', async t => {
  const r = await server(t)
  if (!r) return
  const input = [[{ day: 'mon', course: 'spark', count: 1 }, { course: 'x' }, { day: 'mon', course: 'beam', count: 2 }]]
  const threw = await runTable(['to-redis', r.url, `r => ['HINCRBY', '${r.prefix}:' + r.day.toUpperCase(), r.course, r.count]`, '--name', r.prefix], input)
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream to-redis: batch 1000: function threw TypeError.*\n {2}on record \{"course":"x"\}/m, 'naming the operator, the batch time and the record')
  t.same(await r.dump(), {}, 'nothing of the batch is written')
  t.equal(await r.marker(), null)

  const state = freshDir()
  const skipped = await runTable(['to-redis', r.url, `r => ['HINCRBY', '${r.prefix}:' + r.day.toUpperCase(), r.course, r.count]`, '--name', r.prefix, '--on-error', 'skip'], input, { env: { DSTREAM_STATE_DIR: state } })
  t.equal(skipped.code, 0, skipped.stderr)
  t.same(await r.dump(), { [`${r.prefix}:MON`]: { spark: '1', beam: '2' } }, '--on-error skip: the rest of the batch is written')
  t.match(fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8'), /"reason":"function threw TypeError.*"record":\{"course":"x"\}/, 'and the record is in the dead-letter file')

  for (const [fn, reason] of [
    ['"HINCRBY"', /FN gave "HINCRBY": not a command/],
    ["['HINCRBY', 'k', {}, 1]", /argument 2 of HINCRBY is \{\}: the arguments of a command are strings or numbers/],
    ["[[1, 'k']]", /\[1,"k"\] is not a command/],
    ["[['SET', 'k', 1], ['EXEC']]", /EXEC is not allowed: each batch is written in one MULTI\/EXEC transaction/],
    ['undefined', /FN gave undefined: not a command/]
  ] as const) {
    const bad = await runTable(['to-redis', r.url, fn, '--name', `${r.prefix}-bad`], [[1]])
    t.equal(bad.code, 65, `${fn}: exit 65`)
    t.match(bad.stderr, new RegExp(`^dstream to-redis: batch 1000: ${reason.source}.*: 1$`, 'm'), `${fn}: says why, with the batch time and the record`)
  }
  const shorthand = await runTable(['to-redis', r.url, '--hincrby', `'${r.prefix}:h'`, "'f'", '_', '--name', `${r.prefix}-bad`], [[1, 1.5]])
  t.equal(shorthand.code, 65, 'an increment that is not an integer: exit 65')
  t.match(shorthand.stderr, /batch 1000: HINCRBY N gave 1\.5, not an integer: 1\.5/)
  t.equal(await r.client.exists(`${r.prefix}:h`), 0, 'checked before anything is sent')
  t.equal(await r.marker(`${r.prefix}-bad`), null)

  const state2 = freshDir()
  const skip = await runTable(['to-redis', r.url, `r => r === 2 ? 'nope' : ['INCRBY', '${r.prefix}:n', r]`, '--name', `${r.prefix}-skip`, '--on-bad-input', 'skip'], [[1, 2, 3]], { env: { DSTREAM_STATE_DIR: state2 } })
  t.equal(skip.code, 0, skip.stderr)
  t.equal(await r.client.get(`${r.prefix}:n`), '4', '--on-bad-input skip: the rest of the batch, once')
  t.match(fs.readFileSync(path.join(state2, 'dead-letter.ndjson'), 'utf8'), /"time":1000,"reason":"FN gave \\"nope\\".*"record":2/)
})

t.test('bad input: a command Redis refuses as it is queued: nothing of the batch is written', async t => {
  const r = await server(t)
  if (!r) return
  const fn = `n => n === 2 ? ['HINCRBY', '${r.prefix}:h', 'x'] : ['HINCRBY', '${r.prefix}:h', 'n', n]`
  const refused = await runTable(['to-redis', r.url, fn, '--name', r.prefix], [[1], [1, 2, 3]])
  t.equal(refused.code, 65, 'exit 65')
  t.match(refused.stderr, /^dstream to-redis: batch 2000: Redis refused \["HINCRBY",".*:h","x"\]: ERR wrong number of arguments for 'hincrby' command; nothing of batch 2000 was written: 2$/m)
  t.same(await r.client.hgetall(`${r.prefix}:h`), { n: '1' }, 'batch 1000 is written; nothing of batch 2000')
  t.equal(await r.marker(), '1000', 'the marker stays at batch 1000')

  const state = freshDir()
  const skip = await runTable(['to-redis', r.url, fn.replace("'x'", "'x'] : n === 3 ? ['NO-SUCH-COMMAND'"), '--name', r.prefix, '--on-bad-input', 'skip'], [[1], [1, 2, 3, 4]], { env: { DSTREAM_STATE_DIR: state } })
  t.equal(skip.code, 0, skip.stderr)
  t.same(await r.client.hgetall(`${r.prefix}:h`), { n: '6' }, '--on-bad-input skip: batch 2000 is written without them, once; batch 1000 was skipped (its marker)')
  const dead = fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(dead.map(d => [d.time, d.record]), [[2000, 2], [2000, 3]], 'the refused records are in the dead-letter file')
  t.match(dead[1].reason, /unknown command 'NO-SUCH-COMMAND'/)
})

t.test('bad input: a command Redis refuses as it runs: no rollback, the record set aside, the rest once', async t => {
  const r = await server(t)
  if (!r) return
  await r.client.set(`${r.prefix}:day_course:tue`, 'a string, not a hash')
  await r.client.hset(`${r.prefix}:day_course:wed`, 'spark', 'many')
  const input = [
    [{ day: 'mon', course: 'spark', count: 1 }],
    [{ day: 'mon', course: 'spark', count: 2 }, { day: 'tue', course: 'spark', count: 3 }, { day: 'wed', course: 'spark', count: 4 }, { day: 'mon', course: 'beam', count: 5 }]
  ]
  const state = freshDir()
  const words = ['to-redis', r.url, hincrby(r.prefix), '--name', r.prefix]
  const ran = await runTable(words, input, { env: { DSTREAM_STATE_DIR: state } })
  t.equal(ran.code, 65, 'exit 65')
  t.match(ran.stderr, /dstream to-redis: batch 2000: Redis refused \["HINCRBY",".*:day_course:tue","spark","3"\]: WRONGTYPE Operation against a key holding the wrong kind of value \(and 1 more\)\n {2}on record \{"day":"tue","course":"spark","count":3\}\n {2}Redis has no rollback: the rest of batch 2000 was applied, once/, 'naming the batch, the command, the record, and what was written')
  const written = { [`${r.prefix}:day_course:mon`]: { spark: '3', beam: '5' }, [`${r.prefix}:day_course:tue`]: 'a string, not a hash', [`${r.prefix}:day_course:wed`]: { spark: 'many' } }
  t.same(await r.dump(), written, 'the rest of the batch is written')
  t.equal(await r.marker(), '2000', 'with the marker')
  const dead = () => fs.readFileSync(path.join(state, 'dead-letter.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
  t.same(dead().map(d => [d.time, d.record.day]), [[2000, 'tue'], [2000, 'wed']], 'both refused records are in the dead-letter file, without --on-bad-input skip')
  t.match(dead()[1].reason, /Redis refused .*: ERR hash value is not an integer/)

  const again = await runTable(words, input, { env: { DSTREAM_STATE_DIR: state } })
  t.equal(again.code, 0, `started again: exit 0 ${again.stderr}`)
  t.same(await r.dump(), written, 'batch 2000 is not applied a second time')
  t.equal(dead().length, 2, 'nor set aside again')

  const skip = await runTable(['to-redis', r.url, hincrby(r.prefix), '--name', `${r.prefix}-skip`, '--on-bad-input', 'skip'], [input[1]])
  t.equal(skip.code, 0, `--on-bad-input skip: exit 0 ${skip.stderr}`)
  t.match(skip.stderr, /2 inputs set aside in/)
  t.same((await r.dump())[`${r.prefix}:day_course:mon`], { spark: '5', beam: '10' }, 'and the rest written once')
})

// ---- usage errors ----

t.test('usage errors exit 2 with the reason and the usage', async t => {
  const file = path.join(t.testdir(), 'missing.url')
  for (const [words, reason] of [
    [['redis://127.0.0.1:1'], /nothing to write: give FN, or one of --hincrby, --hset, --incrby, --set, --zincrby/],
    [['--incrby', 'total', '1'], /--incrby KEY total names nothing: each argument is a function of the record, such as _\.total, or a constant in quotes: "'total'"/],
    [['--hincrby', 'k', 'f'], /Not enough arguments following: hincrby/],
    [['http://u:pw@localhost', 'r => []'], /http:\/\/u:\*\*\*@localhost: not a Redis URL/],
    [['redis://localhost/cache', 'r => []'], /the database is a number, not 'cache'/],
    [['redis://u:pw@localhost', 'r => []', '--url-file', 'f'], /the URL is given twice: redis:\/\/u:\*\*\*@localhost and --url-file f/],
    [['--url-file', file, 'r => []'], /--url-file .*missing\.url: ENOENT/],
    [['r => ['], /FN does not compile/],
    [['r => []', '--give-up', 'soon'], /bad --give-up 'soon'/]
  ] as const) {
    const ran = await runWords(['to-redis', ...words], '', { DSTREAM_REDIS_URL: 'redis://127.0.0.1:1' })
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, reason, `${words.join(' ')}: says why`)
    t.notMatch(ran.stderr, /pw/, 'no password')
  }
})

// ---- restart ----

t.test('restart: a batch replayed after a restart is skipped; a run split in two equals one run', async t => {
  const r = await server(t)
  if (!r) return
  const state = freshDir()
  const words = ['to-redis', r.url, hincrby(`${r.prefix}:a`), '--name', r.prefix]
  t.equal((await runTable(words, DAYS, { env: { DSTREAM_STATE_DIR: state } })).code, 0)
  const once = await r.dump()
  // a crash between EXEC and the commit in the state directory: the replay reaches
  // to-redis (a fresh state directory here), and the marker in Redis skips it
  const replay = await runTable(words, [...DAYS, [{ day: 'wed', course: 'spark', count: 7 }]], { env: { DSTREAM_STATE_DIR: freshDir() } })
  t.equal(replay.code, 0, replay.stderr)
  t.match(replay.stderr, new RegExp(`batches up to 3000 are in ${r.url} already \\(dstream:commit:${r.prefix}\\); those that come again are skipped`))
  t.same(await r.dump(), { ...once, [`${r.prefix}:a:day_course:wed`]: { spark: '7' } }, 'the replayed batches are not written again; the new one is')
  // the same state directory: the Stage's own commit skips them before to-redis sees them
  const same = await runTable(words, DAYS, { env: { DSTREAM_STATE_DIR: state } })
  t.match(same.stderr, /batch 1000 was committed by an earlier run/)

  const input = Array.from({ length: 6 }, (_, b) => Array.from({ length: 10 }, (_, i) => ({ day: `d${(b + i) % 4}`, course: `c${i % 3}`, count: b + i })))
  const split = freshDir()
  const part = (p: string) => ['to-redis', r.url, hincrby(`${r.prefix}:${p}`), '--name', `${r.prefix}-${p}`]
  t.equal((await runTable(part('split'), input.slice(0, 3), { env: { DSTREAM_STATE_DIR: split } })).code, 0)
  t.equal((await runTable(part('split'), input, { env: { DSTREAM_STATE_DIR: split } })).code, 0)
  t.equal((await runTable(part('whole'), input)).code, 0)
  const got = await r.dump()
  const under = (p: string) => Object.fromEntries(Object.entries(got).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]))
  t.same(under(`${r.prefix}:split`), under(`${r.prefix}:whole`), 'a run split in two (the second replaying the first) writes what one run writes')
})

t.test('restart: a marker moved under a running to-redis (another writer under its name) is looked at before each batch', async t => {
  const r = await server(t)
  if (!r) return
  const sink = running(['to-redis', r.url, '--incrby', `'${r.prefix}:n'`, '_', '--name', r.prefix], { DSTREAM_STATE_DIR: freshDir() })
  sink.send(1000, [1])
  await until(async () => await r.marker() === '1000', 'batch 1000 to be written')
  await r.client.set(`dstream:commit:${r.prefix}`, '2000')
  sink.send(2000, [10])
  sink.send(3000, [100])
  sink.end()
  t.equal(await sink.done, 0, sink.stderr())
  t.equal(await r.client.get(`${r.prefix}:n`), '101', 'batch 2000, which the marker says is written, is not written again; batch 3000 is')
  t.match(sink.stderr(), /batch 2000: found written already \(by an attempt whose answer was lost, or by another pipeline under the same name\)/, 'and that is said')
  t.equal(await r.marker(), '3000')
})

// ---- the server away ----

/** Waits until `check` holds, for up to `ms`. */
async function until (check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`)
    await sleep(50)
  }
}

/** to-redis as a process of its own, fed batches on its stdin by the test. */
function running (words: string[], env: NodeJS.ProcessEnv = {}) {
  // through bash, as sh() does: tap's hooks put its loader back into a child's NODE_OPTIONS
  const child = spawn('bash', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', DSTREAM, ...words], { env: userEnv(env), stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  child.stdin.on('error', () => {})
  const done = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  return {
    send: (time: number, records: unknown[]) => child.stdin.write(formatChunk({ time, interval: 1000, records })),
    end: () => child.stdin.end(),
    stderr: () => stderr,
    done
  }
}

t.test('the server away: at start with --give-up, exit 1, the password masked', async t => {
  const port = await freePort()
  const ran = await runTable(['to-redis', `redis://user:hunter2@127.0.0.1:${port}`, 'r => []', '--give-up', '300ms'], [[1]])
  t.equal(ran.code, 1, 'exit 1')
  t.match(ran.stderr, new RegExp(`dstream to-redis: at start: redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}: connect ECONNREFUSED .*; trying again in 100ms`), 'each failure said, with the server')
  t.match(ran.stderr, /given up after --give-up 300ms/)
  t.notMatch(ran.stderr, /hunter2/, 'never the password')
})

t.test('the server stopped and started under a running pipeline: nothing lost, nothing twice', async t => {
  if (!await redis(t)) return
  // a private server (scripts/redis/server.sh on a port of its own): the shared one serves other tests
  const port = await freePort()
  const home = freshDir()
  const script = (what: string) => spawnSync(path.join(ROOT, 'scripts/redis/server.sh'), [what], { env: { ...process.env, REDIS_PORT: String(port), REDIS_HOME: home }, encoding: 'utf8' })
  t.teardown(() => { script('stop') })
  const client = clientOf(`127.0.0.1:${port}`)
  client.on('error', () => {}) // it loses the server too
  const marker = async () => {
    try {
      if (client.status !== 'ready') await client.connect()
      return Number(await client.get('dstream:commit:away'))
    } catch { client.disconnect(); return -1 }
  }
  t.teardown(() => client.disconnect())

  const sink = running(['to-redis', `redis://127.0.0.1:${port}`, '--hincrby', "'away:' + _.day", '_.course', '_.count', '--name', 'away'], { DSTREAM_STATE_DIR: freshDir() })
  const truth: Record<string, Record<string, number>> = {}
  const send = (b: number) => {
    const records = Array.from({ length: 5 }, (_, i) => ({ day: `d${(b + i) % 3}`, course: `c${i}`, count: b + 1 }))
    for (const { day, course, count } of records) (truth[`away:${day}`] ??= {})[course] = (truth[`away:${day}`][course] ?? 0) + count
    sink.send((b + 1) * 1000, records)
  }
  await until(() => /at start: .*ECONNREFUSED.*trying again/.test(sink.stderr()), 'to-redis to say it cannot reach the server')
  t.equal(script('start').status, 0, 'the server started after to-redis')
  for (let b = 0; b < 10; b++) { send(b); await sleep(20) }
  await until(async () => await marker() === 10_000, 'batch 10000 to be written')

  // SHUTDOWN SAVE keeps the data (server.sh stop would drop it: it has no persistence)
  spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'save'])
  for (let b = 10; b < 20; b++) { send(b); await sleep(20) }
  await until(() => /batch 11000: .*trying again in/.test(sink.stderr()), 'to-redis to say it lost the server')
  await sleep(500)
  t.equal(script('start').status, 0, 'the server started again, with the data saved')
  for (let b = 20; b < 30; b++) { send(b); await sleep(20) }
  sink.end()
  t.equal(await sink.done, 0, `to-redis ends with its input, exit 0\n${sink.stderr()}`)
  t.match(sink.stderr(), /batch 11000: redis:\/\/127\.0\.0\.1:\d+: (Connection is closed|connect ECONNREFUSED|read ECONNRESET)[^\n]*; trying again in 100ms/, 'the outage is said')
  t.match(sink.stderr(), /batch 11000: back after/, 'and the server back')
  t.equal(await marker(), 30_000, 'every batch is written')
  const got: Record<string, Record<string, number>> = {}
  for (const key of Object.keys(truth)) got[key] = Object.fromEntries(Object.entries(await client.hgetall(key)).map(([k, v]) => [k, Number(v)]))
  t.same(got, truth, 'the hashes hold every record once')
})

t.test('TLS (rediss://) and AUTH from the URL; the password never said or kept', async t => {
  if (!await redis(t)) return
  const dir = t.testdir()
  const made = await sh(`
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=dstream-test-ca
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
    printf 'subjectAltName=IP:127.0.0.1\\n' > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext`, { cwd: dir })
  t.equal(made.code, 0, `a CA and a server certificate ${made.stderr}`)
  const port = await freePort()
  const server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no',
    '--user', 'default', 'off', '--user', 'writer', 'on', '>s3cret@pw', '~*', '&*', '+@all'], { cwd: dir, stdio: 'ignore' })
  t.teardown(() => { server.kill('SIGKILL') })
  await until(() => new Promise<boolean>(resolve => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) }).on('error', () => resolve(false)) }), 'the TLS server')

  const state = freshDir()
  const url = `rediss://writer:${encodeURIComponent('s3cret@pw')}@127.0.0.1:${port}`
  const input = `${formatChunk({ time: 1000, interval: 1000, records: [2, 3] })}`
  const env = { DSTREAM_STATE_DIR: state, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }
  const ok = await sh(`dstream to-redis '${url}' --incrby "'tls:n'" _`, { input, env })
  t.equal(ok.code, 0, ok.stderr)
  const reader = new Redis({ host: '127.0.0.1', port, username: 'writer', password: 's3cret@pw', tls: { ca: fs.readFileSync(path.join(dir, 'ca.pem')) }, lazyConnect: true })
  await reader.connect()
  t.equal(await reader.get('tls:n'), '5', 'written over TLS, as the user of the URL')
  await reader.quit()

  const again = await sh(`dstream to-redis '${url}' --incrby "'tls:n'" _`, { input, env })
  t.match(again.stderr, /batches up to 1000 are in rediss:\/\/writer:\*\*\*@127\.0\.0\.1:\d+ already/, 'the URL said with its password masked')
  const untrusted = await sh(`dstream to-redis '${url}' --incrby "'tls:n'" _`, { input, env: { DSTREAM_STATE_DIR: freshDir() } })
  t.equal(untrusted.code, 1, 'a certificate not trusted: exit 1 at once')
  t.match(untrusted.stderr, /self-signed certificate in certificate chain \(the server's certificate is not trusted here; NODE_EXTRA_CA_CERTS/)
  const wrong = await sh(`dstream to-redis 'rediss://writer:wrong-pw@127.0.0.1:${port}' --incrby "'tls:n'" _`, { input, env: { ...env, DSTREAM_STATE_DIR: freshDir() } })
  t.equal(wrong.code, 1, 'credentials refused: exit 1 at once')
  t.match(wrong.stderr, /at start: rediss:\/\/writer:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/)

  const said = ok.stderr + again.stderr + untrusted.stderr + wrong.stderr
  const kept = fs.readdirSync(state).flatMap(name => fs.statSync(path.join(state, name)).isDirectory() ? fs.readdirSync(path.join(state, name)).map(f => fs.readFileSync(path.join(state, name, f), 'utf8')) : [])
  t.match(kept.join('\n'), /rediss:\/\/writer:\*\*\*@127\.0\.0\.1/, 'the state directory keeps the URL masked')
  for (const secret of ['s3cret', 'wrong-pw']) {
    t.notMatch(said, secret, `stderr never holds ${secret}`)
    t.notMatch(kept.join('\n'), secret, `nor the state directory`)
  }
})
