// The stateful jobs of EXAMPLES.md through real processes and pipes: the running
// word count across a restart (3), windowed counts with and without an inverse (5),
// sessions with timeouts from an initial state (11).
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { batchLines, parseOutput, sh } from '../helpers.js'

const WORDS = `dstream flat-map '_.split(" ")' | dstream map '[_, 1]'`
const lines = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(i * seed) % 5} w${(i + seed) % 3}`)

t.test('running word count survives a restart (EXAMPLES 3)', async t => {
  const dir = t.testdir()
  const input = [lines(7, 1), [], lines(5, 2), lines(9, 3), [], lines(4, 4)]
  fs.writeFileSync(path.join(dir, 'all'), batchLines(input, { interval: 5000, chunk: 3 }))
  fs.writeFileSync(path.join(dir, 'first'), batchLines(input.slice(0, 3), { interval: 5000, chunk: 3 }))
  fs.writeFileSync(path.join(dir, 'rest'), batchLines(input.slice(3), { interval: 5000, start: 20000, chunk: 3 }))
  const update = `dstream update-state-by-key '(values, count) => (count ?? 0) + values.reduce((a, b) => a + b, 0)'`
  const whole = await sh(`< ${dir}/all ${WORDS} | ${update} --state-dir ${dir}/whole`)
  const first = await sh(`< ${dir}/first ${WORDS} | ${update} --state-dir ${dir}/split`)
  const rest = await sh(`< ${dir}/rest ${WORDS} | ${update} --state-dir ${dir}/split`)
  t.equal(whole.code, 0, whole.stderr)
  t.equal(rest.code, 0, rest.stderr)
  const last = (out: string) => parseOutput(out).batches.at(-1)!
  t.same(last(rest.stdout), last(whole.stdout), 'the state after a restart equals an uninterrupted run')
  const total = input.flat().join(' ').split(' ').length
  t.equal((last(whole.stdout).records as Array<[string, number]>).reduce((a, [, n]) => a + n, 0), total, 'every word counted once')
  t.equal(parseOutput(first.stdout + rest.stdout).batches.length, input.length, 'a batch out for every batch in')
})

t.test('windowed word count, with and without the inverse function (EXAMPLES 5)', async t => {
  const dir = t.testdir()
  const input = Array.from({ length: 12 }, (_, i) => lines(i % 4 === 3 ? 0 : 6, i + 1))
  fs.writeFileSync(path.join(dir, 'in'), batchLines(input, { interval: 10000, chunk: 4 }))
  const plain = await sh(`< ${dir}/in ${WORDS} | dstream reduce-by-key-and-window sum --length 30s --slide 10s`)
  const inverse = await sh(`< ${dir}/in ${WORDS} | dstream reduce-by-key-and-window '(a, b) => a + b' --inverse '(a, b) => a - b' --filter '([, n]) => n > 0' --length 30s --slide 10s`)
  t.equal(plain.code, 0, plain.stderr)
  t.equal(inverse.code, 0, inverse.stderr)
  // the reference: each window recomputed from the raw lines
  const expected = input.map((_, i) => {
    const counts = new Map<string, number>()
    for (const line of input.slice(Math.max(0, i - 2), i + 1).flat()) for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1)
    return [...counts].sort()
  })
  const sorted = (out: string) => parseOutput(out).batches.map(b => (b.records as Array<[string, number]>).slice().sort())
  t.same(sorted(plain.stdout), expected, 'without --inverse: every window recomputed')
  t.same(sorted(inverse.stdout), expected, 'with --inverse and a filter for zero counts: the same windows')
  t.same(parseOutput(plain.stdout).batches.map(b => [b.time, b.interval]), input.map((_, i) => [(i + 1) * 10000, 10000]))
})

t.test('sessions with timeouts from an initial state (EXAMPLES 11)', async t => {
  const dir = t.testdir({ 'initial.json': '[["flink", 100], ["sparkstreaming", 32]]' })
  const input = [['flink spark'], ['spark'], [], [], ['flink']]
  fs.writeFileSync(path.join(dir, 'in'), batchLines(input, { interval: 5000 }))
  const fn = `'(word, one, state) => { if (state.isTimingOut()) return [word, "timed out"]; const n = (state.exists() ? state.get() : 0) + one; state.update(n); return [word, n] }'`
  const mapped = await sh(`< ${dir}/in ${WORDS} | dstream map-with-state ${fn} --initial ${dir}/initial.json --timeout 10s`)
  t.equal(mapped.code, 0, mapped.stderr)
  const batches = parseOutput(mapped.stdout).batches.map(b => b.records)
  t.same(batches[0], [['flink', 101], ['spark', 1]], 'counts start from the initial state')
  t.same(batches[1], [['spark', 2]])
  t.ok(batches.flat().some(r => JSON.stringify(r) === '["sparkstreaming","timed out"]'), 'an idle key times out once')
  const snapshots = await sh(`< ${dir}/in ${WORDS} | dstream map-with-state ${fn} --initial ${dir}/initial.json --timeout 10s --snapshots`)
  t.equal(snapshots.code, 0, snapshots.stderr)
  const states = parseOutput(snapshots.stdout).batches.map(b => Object.fromEntries(b.records as Array<[string, number]>))
  t.same(states[0], { flink: 101, sparkstreaming: 32, spark: 1 }, 'snapshots show every key after the batch')
  t.notOk('sparkstreaming' in states.at(-1)!, 'and a timed-out key is gone')
})
