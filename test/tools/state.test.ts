import fs from 'node:fs'
import t from 'tap'
import { sh } from '../helpers.js'

// A pipeline's members, as lib/durability/component.ts, lib/durability/checkpoint.ts and lib/durability/commit.ts write them.
const meta = (operator: string, role: string, definition: unknown) => JSON.stringify({ operator, role, definition }) + '\n'
const checkpoint = (time: number) => JSON.stringify({ operator: 'update-state-by-key', definition: { fn: 'sum' }, time, state: [['a', time / 1000]] })
const commit = (committed: number | null) => JSON.stringify({ operator: 'save', definition: { prefix: 'out' }, committed }) + '\n'
const log = [
  { start: { file: 'in.txt', ino: 7, offset: 0 } },
  { read: 2, file: 'in.txt', ino: 7, from: 0, until: 8 },
  { batch: 1000, interval: 1000 },
  { batch: 2000, interval: 1000 },
  { read: 1, file: 'in.txt', ino: 7, from: 8, until: 12 },
  { batch: 3000, interval: 1000 }
].map(line => JSON.stringify(line) + '\n').join('') + 'not json\n{"batch": 4000, "inter'

const member = {
  wc: { 'meta.json': meta('update-state-by-key', 'state', { fn: 'sum' }), 'checkpoint-2000.json': checkpoint(2000), 'checkpoint-5000.json': checkpoint(5000) },
  out: { 'meta.json': meta('save', 'sink', { prefix: 'out' }), 'commit.json': commit(3000) },
  in: { 'meta.json': meta('tail', 'source', { path: 'in.txt' }), 'log.ndjson': log }
}
const bytes = (files: Record<string, string>) => Object.values(files).reduce((sum, text) => sum + Buffer.byteLength(text), 0)

t.test('cases', async t => {
  const dir = t.testdir({ ...member, 'dead-letter.ndjson': '{"line":"x"}\n' })
  const ls = await sh(`dstream state ls --state-dir ${dir}`)
  t.equal(ls.code, 0)
  t.equal(ls.stdout, [
    `in\ttail\tsource\tlogged up to batch 3000\t${bytes(member.in)} bytes\t{"path":"in.txt"}`,
    `out\tsave\tsink\tcommitted 3000\t${bytes(member.out)} bytes\t{"prefix":"out"}`,
    `wc\tupdate-state-by-key\tstate\tbatch 5000 (2 versions)\t${bytes(member.wc)} bytes\t{"fn":"sum"}`,
    // the sink committed 3000, but the state holds no version at 3000: back to 2000
    'restart point: after batch 2000',
    ''
  ].join('\n'), 'one line per member, by name, then the restart point; the dead-letter file is no member')

  const state = await sh('dstream state show wc', { env: { DSTREAM_STATE_DIR: dir } })
  t.equal(state.code, 0)
  t.equal(state.stdout, JSON.stringify(JSON.parse(checkpoint(5000)), null, 2) + '\n', "a state: its latest version, pretty; DSTREAM_STATE_DIR is the default")
  const sink = await sh(`dstream state show out --state-dir ${dir}`)
  t.equal(sink.stdout, JSON.stringify({ operator: 'save', definition: { prefix: 'out' }, committed: 3000 }, null, 2) + '\n', "a sink: its commit")
  const source = await sh(`dstream state show in --state-dir ${dir}`)
  t.equal(source.code, 0)
  t.equal(source.stdout, JSON.stringify({ operator: 'tail', definition: { path: 'in.txt' }, batches: 3, first: 1000, last: 3000, reads: 2 }, null, 2) + '\n',
    "a source: its log summed up, lines that do not parse skipped")

  const reset = await sh(`dstream state reset wc --state-dir ${dir}`)
  t.equal(reset.code, 0)
  t.equal(reset.stdout, '')
  t.match(reset.stderr, /removed .*\/wc\n$/)
  t.notOk(fs.existsSync(`${dir}/wc`), 'reset removes the member')
  t.ok(fs.existsSync(`${dir}/out`) && fs.existsSync(`${dir}/in`), 'and only that one')
  const after = await sh(`dstream state ls --state-dir ${dir}`)
  t.equal(after.stdout.split('\n').slice(-2)[0], 'restart point: after batch 3000', 'no stateful operator left: the sink alone says')
})

t.test('restart points', async t => {
  const cases: Array<[string, Record<string, Record<string, string>>, string]> = [
    ['a sink that has committed nothing', { out: { ...member.out, 'commit.json': commit(null) }, in: member.in }, 'replay everything logged'],
    ['a state with no version at or before the commit', { out: member.out, wc: { 'meta.json': member.wc['meta.json'], 'checkpoint-5000.json': checkpoint(5000) } }, 'replay everything logged'],
    ['a source alone', { in: member.in }, 'none (nothing to replay)'],
    ['sink and state agree', { out: member.out, wc: { ...member.wc, 'checkpoint-3000.json': checkpoint(3000) } }, 'after batch 3000']
  ]
  for (const [what, members, point] of cases) {
    const ls = await sh(`dstream state ls --state-dir ${t.testdir(members)}`)
    t.equal(ls.code, 0)
    t.equal(ls.stdout.split('\n').slice(-2)[0], `restart point: ${point}`, what)
  }
})

t.test('edge cases', async t => {
  const empty = await sh(`dstream state ls --state-dir ${t.testdir()}/none`)
  t.equal(empty.code, 0, 'no state directory yet: nothing to list')
  t.equal(empty.stdout, '')
  const dir = t.testdir({
    broken: { 'meta.json': '{', 'checkpoint-1000.json': checkpoint(1000) },
    orphan: { 'checkpoint-1000.json': checkpoint(1000) },
    old: { 'checkpoint.json': checkpoint(1000) },
    junk: { 'notes.txt': 'mine' },
    bare: {},
    'dead-letter.ndjson': ''
  })
  const ls = await sh(`dstream state ls --state-dir ${dir}`)
  t.equal(ls.code, 0)
  t.equal(ls.stdout, 'broken\t(corrupt)\nold\t(corrupt)\norphan\t(corrupt)\n',
    "a corrupt or missing meta.json beside a member's files is listed as such; other directories are not; no member, no restart point")
  const corrupt = await sh(`dstream state show broken --state-dir ${dir}`)
  t.equal(corrupt.code, 1)
  t.match(corrupt.stderr, /meta\.json is missing or corrupt/)
  const resetCorrupt = await sh(`dstream state reset orphan --state-dir ${dir}`)
  t.equal(resetCorrupt.code, 0, 'a corrupt member can be reset')
  t.notOk(fs.existsSync(`${dir}/orphan`))

  const fresh = t.testdir({
    wc: { 'meta.json': member.wc['meta.json'] },
    out: { 'meta.json': member.out['meta.json'] },
    in: { 'meta.json': member.in['meta.json'] }
  })
  const started = await sh(`dstream state ls --state-dir ${fresh}`)
  t.match(started.stdout, /^in\ttail\tsource\tnothing logged yet\t\d+ bytes\t/m, 'a source with no log yet')
  t.match(started.stdout, /^out\tsave\tsink\tcommitted nothing yet\t/m, 'a sink with no commit yet')
  t.match(started.stdout, /^wc\tupdate-state-by-key\tstate\tno version yet\t/m, 'a state with no version yet')
  const noCommit = await sh(`dstream state show out --state-dir ${fresh}`)
  t.same(JSON.parse(noCommit.stdout), { operator: 'save', definition: { prefix: 'out' }, committed: null })
  const noLog = await sh(`dstream state show in --state-dir ${fresh}`)
  t.same(JSON.parse(noLog.stdout), { operator: 'tail', definition: { path: 'in.txt' }, batches: 0, first: null, last: null, reads: 0 })
  const noVersion = await sh(`dstream state show wc --state-dir ${fresh}`)
  t.equal(noVersion.code, 1)
  t.match(noVersion.stderr, /wc holds no version of its state yet/)

  // a long log, read in pieces (64 KiB): lines across the pieces, non-ASCII names
  const lines: string[] = []
  for (let i = 1; i <= 3000; i++) lines.push(JSON.stringify({ read: 1, file: `données-${'é'.repeat(i % 7)}.txt`, from: i, until: i + 1 }), JSON.stringify({ batch: i * 1000, interval: 1000 }))
  const long = t.testdir({ in: { 'meta.json': member.in['meta.json'], 'log.ndjson': lines.join('\n') + '\n' } })
  const summed = await sh(`dstream state show in --state-dir ${long}`)
  t.same(JSON.parse(summed.stdout), { operator: 'tail', definition: { path: 'in.txt' }, batches: 3000, first: 1000, last: 3000000, reads: 3000 }, 'a long log')
})

t.test('bad input and usage errors', async t => {
  const dir = t.testdir({ ...member, junk: { 'notes.txt': 'mine' }, 'dead-letter.ndjson': '', corrupt: { 'meta.json': meta('update-state-by-key', 'state', {}), 'checkpoint-1000.json': '{' } })
  for (const words of ['show nope', 'reset nope', 'show junk', 'reset junk', 'show dead-letter.ndjson', 'reset dead-letter.ndjson']) {
    const missing = await sh(`dstream state ${words} --state-dir ${dir}`)
    t.equal(missing.code, 1, `state ${words}: exit 1`)
    t.match(missing.stderr, new RegExp(`no state named '${words.split(' ')[1]}'`))
  }
  t.ok(fs.existsSync(`${dir}/junk/notes.txt`) && fs.existsSync(`${dir}/dead-letter.ndjson`), 'what is no member is never removed')
  const escape = await sh(`dstream state reset ../x --state-dir ${dir}/wc`)
  t.equal(escape.code, 1, 'a NAME outside the state directory is refused')
  t.match(escape.stderr, /no state named '\.\.\/x'/)
  const hidden = await sh(`dstream state show .. --state-dir ${dir}/wc`)
  t.equal(hidden.code, 1)
  t.ok(fs.existsSync(`${dir}/wc`))
  const badVersion = await sh(`dstream state show corrupt --state-dir ${dir}`)
  t.equal(badVersion.code, 1, 'a corrupt latest version')
  t.match(badVersion.stderr, /checkpoint-1000\.json is corrupt/)
  for (const words of ['state', 'state frobnicate', 'state show', 'state ls x', 'state ls --bogus']) {
    const ran = await sh(`dstream ${words}`)
    t.equal(ran.code, 2, `dstream ${words}: exit 2`)
    t.match(ran.stderr, /^dstream state: .*\nUsage: dstream state/)
  }
  const chained = await sh('dstream state ls then print')
  t.equal(chained.code, 2, 'a tool cannot be chained')
})
