// Real processes and real pipes: the piped and fused forms agree, `| head`
// ends everything quietly, Ctrl-C drains the pipeline (SPEC §4, §5).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { batchLines, parseOutput, sh, userEnv } from '../helpers.js'

const WORDCOUNT = [`flat-map '_.split(" ")'`, `map '[_, 1]'`, 'reduce-by-key sum', 'print']

t.test('the word count piped and fused give the same output', async t => {
  const dir = t.testdir()
  const lines = Array.from({ length: 300 }, (_, i) => `w${i % 7} w${i % 3} the end`)
  fs.writeFileSync(path.join(dir, 'in.ndjson'), batchLines([lines.slice(0, 100), [], lines.slice(100)], { interval: 5000, chunk: 37 }))
  const piped = await sh(`< ${dir}/in.ndjson dstream ${WORDCOUNT.join(' | dstream ')}`)
  const fused = await sh(`< ${dir}/in.ndjson dstream ${WORDCOUNT.join(' then ')}`)
  t.equal(piped.code, 0, piped.stderr)
  t.equal(fused.code, 0, fused.stderr)
  t.match(piped.stdout, /Time: 5000 ms\n-+\n\(w0,49\)\n/, 'counted')
  t.equal(fused.stdout, piped.stdout, 'fused output is byte-identical')

  const source = await sh(`printf 'a b\\nb c\\nc\\n' | dstream batch 1d --chunk 1 | dstream ${WORDCOUNT.slice(0, 3).join(' | dstream ')}`)
  const sourceFused = await sh(`printf 'a b\\nb c\\nc\\n' | dstream batch 1d --chunk 1 then ${WORDCOUNT.slice(0, 3).join(' then ')}`)
  const records = (out: string) => parseOutput(out).batches.map(b => b.records)
  t.same(records(source.stdout), [[['a', 1], ['b', 2], ['c', 2]]], 'from a source, piped')
  t.same(records(sourceFused.stdout), records(source.stdout), 'from a source, fused')
})

t.test('a chain with transform and a dataset, piped and fused', async t => {
  const dir = t.testdir({ 'stop.json': '["the", "end"]' })
  fs.writeFileSync(path.join(dir, 'in.ndjson'), batchLines([['the cat sat', 'on the mat'], [], ['the end']], { interval: 2000, chunk: 1 }))
  const chain = [`flat-map '_.split(" ")'`, `transform --with stop=${dir}/stop.json '(words, time, env) => words.filter(w => !env.stop.includes(w)).map(w => w + "@" + time)'`, 'count-by-value']
  const piped = await sh(`< ${dir}/in.ndjson dstream ${chain.join(' | dstream ')}`)
  const fused = await sh(`< ${dir}/in.ndjson dstream ${chain.join(' then ')}`)
  t.equal(piped.code, 0, piped.stderr)
  t.same(parseOutput(piped.stdout).batches.map(b => b.records), [[['cat@2000', 1], ['sat@2000', 1], ['on@2000', 1], ['mat@2000', 1]], [], []])
  t.equal(fused.stdout, piped.stdout, 'fused output is byte-identical')
})

t.test('downstream | head -1 ends everything upstream quietly', async t => {
  const ran = await sh(`yes "to be or not" | dstream batch 100ms --chunk 10 | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' | head -1; echo "\${PIPESTATUS[@]}" >&2`)
  const statuses = ran.stderr.trim().split('\n').pop()!.split(' ')
  t.same(statuses.slice(1, 4), ['0', '0', '0'], 'every dstream command exits 0')
  t.equal(ran.stderr.trim().split('\n').length, 1, 'and says nothing')
  // the first batch may be empty when the 100 ms interval ends before yes has started
  t.match(ran.stdout, /^\{"time":\d+,"interval":100,"records":\[.*\](,"more":true)?\}\n$/, 'head got one batch line')
})

t.test('Ctrl-C: the source closes its batch, the pipeline drains and exits 0', async t => {
  const script = `(echo "a b"; echo "b"; sleep 30) | dstream batch 1h | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' | dstream reduce-by-key sum | dstream print; echo "\${PIPESTATUS[@]}" >&2`
  const child = spawn('bash', ['-c', `unset NODE_OPTIONS; ${script}`], { env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  await new Promise(resolve => setTimeout(resolve, 1500))
  process.kill(-child.pid!, 'SIGINT')
  const code = await new Promise(resolve => child.on('close', resolve))
  t.equal(code, 0, stderr)
  // an hour's batch is open when Ctrl-C comes (unless an hour ended in the last 1.5 s)
  t.match(stdout, /^(-+\nTime: \d+ ms\n-+\n(\(\w,\d\)\n)*\n)+$/, 'whole batches were printed, the last one closed')
  t.match(stdout, /\(a,1\)\n\(b,2\)\n\n$/, 'the open batch was finished and printed')
  t.same(stderr.trim().split(' ').slice(1), ['0', '0', '0', '0', '0'], 'every dstream command exited 0')
})
