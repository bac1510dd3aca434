import fs from 'node:fs'
import t from 'tap'
import { sh } from '../helpers.js'

const checkpoint = (time: number) => JSON.stringify({ operator: 'update-state-by-key', definition: { fn: 'sum' }, time, state: [['a', 1]] })

t.test('cases', async t => {
  const dir = t.testdir({ wc: { 'checkpoint.json': checkpoint(5000) }, 'other-1a2b': { 'checkpoint.json': checkpoint(7000) }, 'dead-letter.ndjson': '' })
  const ls = await sh(`dstream state ls --state-dir ${dir}`)
  t.equal(ls.code, 0)
  t.match(ls.stdout, /^other-1a2b\tupdate-state-by-key\tbatch 7000\t\d+ bytes\t\{"fn":"sum"\}\nwc\tupdate-state-by-key\tbatch 5000\t/, 'one line per checkpoint, by name')
  const show = await sh('dstream state show wc', { env: { DSTREAM_STATE_DIR: dir } })
  t.same(JSON.parse(show.stdout), JSON.parse(checkpoint(5000)), 'show prints the checkpoint; DSTREAM_STATE_DIR is the default')
  const reset = await sh(`dstream state reset wc --state-dir ${dir}`)
  t.equal(reset.code, 0)
  t.match(reset.stderr, /removed .*\/wc/)
  t.notOk(fs.existsSync(`${dir}/wc`), 'reset removes the state')
  t.ok(fs.existsSync(`${dir}/other-1a2b`), 'and only that one')
})

t.test('edge cases', async t => {
  const empty = await sh(`dstream state ls --state-dir ${t.testdir()}/none`)
  t.equal(empty.code, 0, 'no state directory yet: nothing to list')
  t.equal(empty.stdout, '')
  const dir = t.testdir({ broken: { 'checkpoint.json': '{' } })
  const ls = await sh(`dstream state ls --state-dir ${dir}`)
  t.match(ls.stdout, /^broken\t\(corrupt\)/, 'a corrupt checkpoint is listed as such')
})

t.test('bad input and usage errors', async t => {
  const dir = t.testdir()
  const missing = await sh(`dstream state show nope --state-dir ${dir}`)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no state named 'nope'/)
  const escape = await sh(`dstream state reset ../x --state-dir ${dir}`)
  t.equal(escape.code, 1, 'a NAME outside the state directory is refused')
  for (const words of ['state', 'state frobnicate', 'state show', 'state ls x', 'state ls --bogus']) {
    const ran = await sh(`dstream ${words}`)
    t.equal(ran.code, 2, `dstream ${words}: exit 2`)
    t.match(ran.stderr, /^dstream state: .*\nUsage: dstream state/)
  }
  const chained = await sh('dstream state ls then print')
  t.equal(chained.code, 2, 'a tool cannot be chained')
})
