import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { runTable, runWords, type TableOptions } from '../helpers.js'

// Each run gets a state directory of its own, so no checkpoint is shared by accident.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-drop-duplicates-'))
t.teardown(() => fs.rmSync(STATE, { recursive: true, force: true }))
let runs = 0
const run = (words: string[], input: unknown[][], options?: TableOptions) => runTable([...words, '--state-dir', `${STATE}/${++runs}`], input, options)

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], unknown[][]]> = [
    ['the whole record, for ever', [], [['a', 'b', 'a'], ['b', 'c'], [], ['a', 'd']], [['a', 'b'], ['c'], [], ['d']]],
    ['records compare by value', [], [[{ a: 1, b: [2] }, { b: [2], a: 1 }, [1, 2], [2, 1], 1, '1']], [[{ a: 1, b: [2] }, [1, 2], [2, 1], 1, '1']]],
    ['by a key: the first record of a key is kept', ['_.guid'], [[{ guid: 1, n: 1 }, { guid: 2, n: 2 }, { guid: 1, n: 3 }], [{ guid: 2, n: 4 }, { guid: 3, n: 5 }]],
      [[{ guid: 1, n: 1 }, { guid: 2, n: 2 }], [{ guid: 3, n: 5 }]]],
    ['an array key', ['r => [r.user, r.page]'], [[{ user: 'u', page: 1 }, { user: 'u', page: 2 }, { user: 'u', page: 1 }]], [[{ user: 'u', page: 1 }, { user: 'u', page: 2 }]]],
    // --within 3s with 1 s batches: remembered in its own batch and the next two
    ['within a horizon', ['--within', '3s'], [['a'], ['a', 'b'], ['a'], ['a', 'b'], [], ['b'], ['a']], [['a'], ['b'], [], ['a'], [], ['b'], ['a']]],
    ['a dropped repeat does not extend the horizon', ['--within', '2000'], [['a'], ['a'], ['a'], ['a'], ['a']], [['a'], [], ['a'], [], ['a']]]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await run(['drop-duplicates', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0 ${ran.stderr}`)
    t.same(ran.records, expected, name)
  }
})

t.test('edge cases', async t => {
  const input = [['a', 'b', 'a', 'c', 'b', 'd'], [], ['d', 'e', 'e']]
  const whole = await run(['drop-duplicates'], input)
  const chunked = await run(['drop-duplicates'], input, { chunk: 2 })
  t.same(whole.records, [['a', 'b', 'c', 'd'], [], ['e']], 'repeats inside a batch are dropped too; an empty batch stays')
  t.same(chunked.records, whole.records, 'chunked input gives the same output')
  const none = await run(['drop-duplicates'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input, no output, exit 0')
})

t.test('restart from the state directory', async t => {
  const dir = t.testdir()
  const input = [['a', 'b'], ['a', 'c'], ['b', 'd'], [], ['a', 'c']]
  const words = ['drop-duplicates', '--within', '3s']
  const whole = await runTable([...words, '--state-dir', `${dir}/whole`], input)
  const first = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(0, 3))
  const rest = await runTable([...words, '--state-dir', `${dir}/split`], input.slice(3), { start: 4000 })
  t.equal(rest.code, 0, rest.stderr)
  t.same([...first.records, ...rest.records], whole.records, 'a run split in two gives the output of one run')
  t.same(whole.records, [['a', 'b'], ['c'], ['d'], [], ['a', 'c']])
  const [name] = fs.readdirSync(`${dir}/split`).filter(f => f.startsWith('drop-duplicates'))
  t.same(JSON.parse(fs.readFileSync(`${dir}/split/${name}/checkpoint-5000.json`, 'utf8')).state, [['d', 3000], ['a', 5000], ['c', 5000]],
    'the checkpoint holds the keys still remembered, with the time of the batch that kept them')
})

t.test('bad input', async t => {
  const threw = await run(['drop-duplicates', '_.id.toString()'], [[{ id: 1 }], [{ id: 2 }, { no: 3 }]])
  t.equal(threw.code, 65, 'FN throws: exit 65')
  t.match(threw.stderr, /^dstream drop-duplicates: batch 2000: function threw TypeError: .*\n\s+on record \{"no":3\}/, 'names the batch and the record')
  t.same(threw.records, [[{ id: 1 }]])
  const dead = `${t.testdir()}/dead`
  const skipped = await run(['drop-duplicates', '_.id.toString()', '--on-error', 'skip', '--dead-letter', dead], [[{ id: 1 }, { no: 3 }, { id: 1 }]])
  t.same([skipped.code, skipped.records], [0, [[{ id: 1 }]]], '--on-error skip: the record is set aside')
  t.same(JSON.parse(fs.readFileSync(dead, 'utf8')).record, { no: 3 })
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['drop-duplicates', '_.'], /key function does not compile/],
    [['drop-duplicates', '--within', '0'], /^dstream drop-duplicates: bad --within '0'/],
    [['drop-duplicates', '_', 'extra'], /unexpected argument 'extra'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords([...words, '--state-dir', `${STATE}/usage`], '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
  }
})
