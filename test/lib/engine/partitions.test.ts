// --partitions N (lib/engine/partitions.ts): a keyed fold and the per-record
// operators in front of it run on N worker threads, and the output is that of one
// thread: the same records, keys in the order first seen, batch by batch.
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { batchLines, freshDir, sh } from '../../helpers.js'
import { random } from '../../crash.js'

const WORDS = ['spark', 'kafka', 'flume', 'dstream', 'storm', 'beam', '1', 'x']

/** Seeded lines of words, in `batches` batches of `chunks` chunks each (and an empty batch). */
function input (seed: number, batches: number, chunks: number, perChunk: number): string {
  const next = random(seed)
  const table: unknown[][] = []
  for (let b = 0; b < batches; b++) {
    table.push(Array.from({ length: chunks * perChunk }, () => Array.from({ length: 1 + Math.floor(next() * 6) }, () => WORDS[Math.floor(next() * next() * WORDS.length)] + (next() < 0.3 ? Math.floor(next() * 40) : '')).join(' ')))
  }
  table.splice(2, 0, [])
  return batchLines(table, { chunk: perChunk })
}

async function same (t: Test, chain: string, stdin: string, partitions: number[], what: string) {
  const dir = freshDir()
  fs.writeFileSync(path.join(dir, 'in'), stdin)
  const runs = await Promise.all(partitions.map(n => sh(`${chain.replaceAll('N', String(n))} < in`, { cwd: dir })))
  runs.forEach((ran, i) => t.equal(ran.code, 0, `--partitions ${partitions[i]}: exit 0 ${ran.stderr}`))
  t.ok(runs[0].stdout.length > 0, `${what}: some output`)
  for (let i = 1; i < runs.length; i++) t.equal(runs[i].stdout, runs[0].stdout, `${what}: --partitions ${partitions[i]} gives the output of --partitions ${partitions[0]}`)
  return runs
}

/**
 * A run over one state directory split in two after batch `at` (the first part on
 * threads[1] threads, the rest on threads[2]) gives the output of one whole run (on
 * threads[0]); the second part starts from the checkpoint the first left. `chain(n)`:
 * the command with --partitions n. The whole run's output, for more checks.
 */
async function resumesAsOne (t: Test, stdin: string, at: number, chain: (n: number) => string, threads: [number, number, number]): Promise<string> {
  const dir = freshDir()
  const lines = stdin.trim().split('\n')
  const half = lines.findIndex(l => JSON.parse(l).time === at && !JSON.parse(l).more) + 1
  fs.writeFileSync(path.join(dir, 'all'), stdin)
  fs.writeFileSync(path.join(dir, 'first'), lines.slice(0, half).join('\n') + '\n')
  fs.writeFileSync(path.join(dir, 'rest'), lines.slice(half).join('\n') + '\n')
  const whole = await sh(`${chain(threads[0])} --state-dir whole < all`, { cwd: dir })
  const first = await sh(`${chain(threads[1])} --state-dir split < first`, { cwd: dir })
  const rest = await sh(`${chain(threads[2])} --state-dir split < rest`, { cwd: dir })
  t.same([whole.code, first.code, rest.code], [0, 0, 0], whole.stderr + first.stderr + rest.stderr)
  t.match(rest.stderr, new RegExp(`resuming from the checkpoint of batch ${at}`), `split after ${at}: the second run starts from the checkpoint`)
  t.equal(first.stdout + rest.stdout, whole.stdout, `split after ${at}: --partitions ${threads[1]}, then ${threads[2]}, give the output of one run on ${threads[0]}`)
  return whole.stdout
}

t.test('the output of one thread, whatever N', async t => {
  const stdin = input(7, 5, 9, 40)
  const runs = await same(t, "dstream flat-map '_.split(\" \")' then map 'w => [w.length % 3 ? w : [w], 1]' then reduce-by-key sum --partitions N", stdin, [1, 2, 3, 5], 'the word count, array keys among the strings')
  const batches = runs[0].stdout.trim().split('\n').map(l => JSON.parse(l))
  t.equal(batches.length, 6, 'a batch out for every batch in, the empty one too')
  t.same(batches[2].records, [], 'the empty batch stays empty')
  const piped = await sh("dstream flat-map '_.split(\" \")' | dstream map 'w => [w.length % 3 ? w : [w], 1]' | dstream reduce-by-key sum", { input: stdin })
  t.equal(piped.stdout, runs[0].stdout, 'and the output of the piped chain')
  await same(t, "dstream map '_.split(\" \")' then flat-map 'ws => ws.map(w => [w, w.length])' then filter '([w]) => w !== \"x\"' then combine-by-key 'v => [v, 1]' '(c, v) => [c[0] + v, c[1] + 1]' '(a, b) => [a[0] + b[0], a[1] + b[1]]' --partitions N then map-values '([s, n]) => s / n'", stdin, [1, 2], 'combine-by-key after map, flat-map and filter, then more operators')
  await same(t, "dstream map '[_.length, _]' then reduce-by-key '(a, b) => a < b ? a : b' --partitions N", stdin, [1, 3], 'a user reducer, number keys')
})

t.test('a window: the batches folded by the threads go into one window, checkpointed as ever', async t => {
  const stdin = input(5, 8, 6, 30)
  await same(t, "dstream flat-map '_.split(\" \")' then map '[_, 1]' then reduce-by-key-and-window sum --length 3s --partitions N", stdin, [1, 2, 3], 'reduce-by-key-and-window')
  await same(t, "dstream flat-map '_.split(\" \")' then map '[_, 1]' then reduce-by-key-and-window '(a, b) => a + b' --inverse '(a, b) => a - b' --filter '([, v]) => v > 0' --length 4s --slide 2s --partitions N then map-values '_ * 2'", stdin, [1, 2], 'with --inverse and --filter, more operators after it')
  // a run split in two over one state directory gives the output of one run
  await resumesAsOne(t, stdin, 4000, n => `dstream flat-map '_.split(" ")' then map '[_, 1]' then reduce-by-key-and-window sum --length 3s --partitions ${n}`, [2, 2, 2])
})

t.test('keyed state split by key over the threads: the output and checkpoints of one thread', async t => {
  const stdin = input(3, 7, 8, 30)
  const chain = "dstream flat-map '_.split(\" \")' then map 'w => [w.length % 4 ? w : { w }, w.length]' then update-state-by-key FN --partitions N"
  const fns = {
    'a running sum': "'(vs, s = 0) => vs.reduce((a, b) => a + b, s)'",
    // the order of each key's values counts, and keys go and come back (new each time)
    'order of values, keys removed and back': "'(vs, s) => vs.length ? (s ?? \"\") .slice(-4) + vs.join(\".\") : undefined'",
    'the batch time and the key': "'(vs, s, k, time) => vs.length > 2 ? [time, k] : s'"
  }
  for (const [what, fn] of Object.entries(fns)) await same(t, chain.replace('FN', fn), stdin, [1, 2, 3], what)
  const piped = await sh(`dstream flat-map '_.split(" ")' | dstream map '[_, 1]' | dstream update-state-by-key '(vs, s = 0) => s + vs.length'`, { input: stdin })
  const fused = await sh(`dstream flat-map '_.split(" ")' then map '[_, 1]' then update-state-by-key '(vs, s = 0) => s + vs.length' --partitions 2`, { input: stdin })
  t.equal(fused.stdout, piped.stdout, 'and the output of the piped chain')

  // --initial: each thread keeps its own keys of it, in the file's order
  const dir = freshDir()
  fs.writeFileSync(path.join(dir, 'initial.json'), JSON.stringify([['zeta', 100], ['spark', 1000], [['x'], 5], ['kafka', 10]]))
  fs.writeFileSync(path.join(dir, 'in'), stdin)
  const initial = await Promise.all([1, 2].map(n => sh(`dstream flat-map '_.split(" ")' then map '[_, 1]' then update-state-by-key '(vs, s = 0) => s + vs.length' --initial initial.json --partitions ${n} < in`, { cwd: dir })))
  t.same(initial.map(r => r.code), [0, 0], initial.map(r => r.stderr).join(''))
  t.equal(initial[1].stdout, initial[0].stdout, '--initial: the output of one thread')
  const firstBatch: Array<[unknown, number]> = JSON.parse(initial[1].stdout.split('\n')[0]).records
  t.same(firstBatch.slice(0, 4).map(([key]) => key), ['zeta', 'spark', ['x'], 'kafka'], "the initial keys first, in the file's order")
  t.same([firstBatch[0][1], firstBatch[2][1]], [100, 5], 'those without records keep their initial state')

  // a run split in two over one state directory, with another N each time, gives the output of one run
  await resumesAsOne(t, stdin, 4000, n => `dstream flat-map '_.split(" ")' then map '[_, 1]' then update-state-by-key '(vs, s) => vs.length ? [...(s ?? []), vs.length].slice(-3) : undefined' --partitions ${n}`, [1, 2, 3])
})

t.test('map-with-state split by key: the output, timeouts and checkpoints of one thread', async t => {
  const stdin = input(9, 8, 6, 30)
  const chain = "dstream flat-map '_.split(\" \")' then map 'w => [w.length % 4 ? w : { w }, w.length]' then map-with-state FN --partitions N"
  const fns: Record<string, string> = {
    // every record's result, in record order
    'a result for every record': "'(k, v, state) => { const n = (state.get() ?? 0) + v; state.update(n); return [k, n] }'",
    // keys removed and coming back, results for some records only
    'keys removed and back': "'(k, v, state) => { if (state.exists() && v > 5) { state.remove(); return [k, \"gone\"] } state.update((state.get() ?? 0) + 1); return v === 1 ? k : undefined }'",
    // idle keys time out after the batch's records, in first-seen order
    '--timeout: timed-out keys after the records': "'(k, v, state, time) => { if (state.isTimingOut()) return [\"timeout\", k, state.get()]; state.update([time, v]) }' --timeout 1500ms",
    '--snapshots': "'(k, v, state) => { state.update((state.get() ?? 0) + v) }' --snapshots"
  }
  for (const [what, fn] of Object.entries(fns)) await same(t, chain.replace('FN', fn), stdin, [1, 2, 3], what)

  // a run split in two over one state directory, with another N each time and
  // checkpoints every 2 batches: the output of one run, idle times carried over.
  // Neither 1000 nor 5000 is a checkpoint batch: the first run checkpoints at its end.
  const chain2 = (n: number) => `dstream flat-map '_.split(" ")' then map '[_, 1]' then map-with-state '(k, v, state) => { if (state.isTimingOut()) return [k, "idle", state.get()]; state.update((state.get() ?? 0) + v) }' --timeout 2s --checkpoint-every 2 --partitions ${n}`
  for (const at of [1000, 5000]) {
    const whole = await resumesAsOne(t, stdin, at, chain2, [1, 2, 3])
    t.ok(whole.includes('"idle"'), 'some keys time out')
  }
})

t.test('behind a source, fused', async t => {
  const dir = freshDir()
  const lines = input(11, 1, 1, 3000).split('\n').filter(Boolean).map(l => JSON.parse(l).records).flat().join('\n') + '\n'
  fs.writeFileSync(path.join(dir, 'words.txt'), lines)
  // one batch of a day: the whole file, whichever thread reads it
  const runs = await Promise.all([1, 2].map(n => sh(`dstream batch 1d --chunk 100 then flat-map '_.split(" ")' then map '[_, 1]' then reduce-by-key sum --partitions ${n} < words.txt`, { cwd: dir })))
  t.same(runs.map(r => r.code), [0, 0], runs.map(r => r.stderr).join(''))
  const records = (stdout: string) => stdout.trim().split('\n').flatMap(l => JSON.parse(l).records)
  t.same(records(runs[1].stdout), records(runs[0].stdout), 'the word count of a file, on two threads and on one')
  const total = records(runs[1].stdout).reduce((n: number, [, c]: [string, number]) => n + c, 0)
  t.equal(total, lines.split(/\s+/).filter(Boolean).length, 'every word counted once')
})

t.test('errors in a worker name the operator, the batch and the record', async t => {
  const stdin = batchLines([['a b', 'c'], ['d boom e', 'f']], { chunk: 1 })
  const threw = await sh("dstream flat-map '_.split(\" \")' then map 'w => { if (w === \"boom\") throw new Error(\"no\"); return [w, 1] }' then reduce-by-key sum --partitions 2", { input: stdin })
  t.equal(threw.code, 65, 'a function that throws: exit 65')
  t.match(threw.stderr, /^dstream map: batch 2000: function threw Error: no\n\s+on record "boom"/, threw.stderr)
  t.same(threw.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', 1], ['b', 1], ['c', 1]]], 'the batches before it went out')

  const dir = freshDir()
  const skipped = await sh(`dstream flat-map '_.split(" ")' then map 'w => { if (w === "boom") throw new Error("no"); return [w, 1] }' --on-error skip --dead-letter ${dir}/dead then reduce-by-key sum --partitions 2`, { input: stdin })
  t.equal(skipped.code, 0, skipped.stderr)
  t.same(skipped.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', 1], ['b', 1], ['c', 1]], [['d', 1], ['e', 1], ['f', 1]]], '--on-error skip: the record is set aside')
  t.same(JSON.parse(fs.readFileSync(`${dir}/dead`, 'utf8')).record, 'boom')
  t.match(skipped.stderr, /dstream map: 1 input set aside in/, 'and counted, though a worker set it aside')

  const bad = await sh("dstream map '_' then reduce-by-key sum --partitions 2", { input: batchLines([[['a', 1], 'not a pair']]) })
  t.equal(bad.code, 65, 'a record that is not a pair: exit 65')
  t.match(bad.stderr, /^dstream reduce-by-key: batch 1000: expected a \[key, value\] pair: "not a pair"/)

  const state = await sh("dstream map '_' then update-state-by-key '(vs, s = 0) => { if (vs.includes(13)) throw new Error(\"thirteen\"); return s + vs.length }' --partitions 2", { input: batchLines([[['a', 1], ['b', 2]], [['a', 13], ['c', 1]]]) })
  t.equal(state.code, 65, 'an update function that throws: exit 65')
  t.match(state.stderr, /^dstream update-state-by-key: batch 2000: function threw Error: thirteen\n\s+on .*"a"/, state.stderr)
  t.same(state.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', 1], ['b', 1]]], 'the batches before it went out')
  const stateDead = freshDir()
  const stateSkip = await sh(`dstream map '_' then update-state-by-key '(vs, s = 0) => { if (vs.includes(13)) throw new Error("thirteen"); return s + vs.length }' --on-error skip --dead-letter ${stateDead}/dead --partitions 2`, { input: batchLines([[['a', 1], ['b', 2]], [['a', 13], ['c', 1]], [['a', 1]]]) })
  t.equal(stateSkip.code, 0, stateSkip.stderr)
  t.same(stateSkip.stdout.trim().split('\n').map(l => JSON.parse(l).records), [[['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 2], ['b', 1], ['c', 1]]], '--on-error skip: the key keeps its state, its values of that batch set aside')
  t.match(JSON.parse(fs.readFileSync(`${stateDead}/dead`, 'utf8')).record, { key: 'a', values: [13] })
  t.match(stateSkip.stderr, /dstream update-state-by-key: 1 input set aside in/, 'and counted, though a worker set it aside')
  const mapSkip = await sh(`dstream map '_' then map-with-state '(k, v, state) => { if (v === 13) throw new Error("thirteen"); state.update(v); return k }' --on-error skip --dead-letter ${stateDead}/dead2 --partitions 2`, { input: batchLines([[['a', 1], ['a', 13], ['b', 2]]]) })
  t.equal(mapSkip.code, 0, mapSkip.stderr)
  t.same(JSON.parse(mapSkip.stdout).records, ['a', 'b'], 'map-with-state, --on-error skip: the record set aside, the others mapped')
  const notPair = await sh("dstream map '_' then update-state-by-key '(vs, s = 0) => s + vs.length' --partitions 2", { input: batchLines([[['a', 1], 7]]) })
  t.equal(notPair.code, 65, 'keyed state, a record that is not a pair: exit 65')
  t.match(notPair.stderr, /^dstream update-state-by-key: batch 1000: expected a \[key, value\] pair: 7/)

  const cut = await sh('dstream map _ then reduce-by-key sum --partitions 2', { input: '{"time":1000,"interval":1000,"records":[["a",1]],"more":true}\n' })
  t.equal(cut.code, 1, 'input that ends inside a batch: exit 1')
  t.match(cut.stderr, /input ended inside batch 1000/)
})

t.test('where workers cannot take over, one thread, said once', async t => {
  const stdin = batchLines([[['a', 1], ['b', 2], ['a', 3]]])
  const notPerRecord = await sh("dstream drop-duplicates then reduce-by-key sum --partitions 2", { input: stdin })
  t.equal(notPerRecord.code, 0, notPerRecord.stderr)
  t.match(notPerRecord.stderr, /dstream reduce-by-key: --partitions 2 runs on one thread here: .*drop-duplicates is not one/)
  t.same(JSON.parse(notPerRecord.stdout).records, [['a', 4], ['b', 2]])
  const noWorkers = await sh('dstream map _ then count-by-value --partitions 2', { input: stdin })
  t.equal(noWorkers.code, 0, noWorkers.stderr)
  t.match(noWorkers.stderr, /dstream count-by-value: count-by-value has no worker threads yet/)
  for (const n of ['0', '1.5']) {
    const wrong = await sh(`dstream reduce-by-key sum --partitions ${n}`, { input: stdin })
    t.equal(wrong.code, 2, `--partitions ${n}: exit 2`)
    t.match(wrong.stderr, /dstream reduce-by-key: --partitions must be a whole number of at least 1/)
  }
})
