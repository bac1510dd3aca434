// bench/wordcount: 10 million words (10-word lines) through the word count, piped
// and fused, beside a hand-written Node word count and awk over the same lines,
// all in this one run. Then the memory of a stateless chain over an endless stream.
//   npm run bench            (WORDS=1000000 npm run bench for a quick look)
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { watchMemory } from './procs.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const WORDS = Number(process.env.WORDS ?? 10_000_000)
const DATA = path.join(ROOT, 'bench', 'data', `words-${WORDS}.txt`)
const BIN = path.join(ROOT, 'bin')

function makeData (): void {
  if (fs.existsSync(DATA)) return
  fs.mkdirSync(path.dirname(DATA), { recursive: true })
  let seed = 42
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
  const vocabulary = Array.from({ length: 5000 }, (_, i) => 'w' + (i * 2654435761 % 1e6).toString(36))
  const out = fs.openSync(DATA + '.tmp', 'w')
  let lines: string[] = []
  for (let i = 0; i < WORDS / 10; i++) {
    const words = []
    for (let j = 0; j < 10; j++) words.push(vocabulary[Math.floor(random() * random() * vocabulary.length)])
    lines.push(words.join(' '))
    if (lines.length === 10000) { fs.writeSync(out, lines.join('\n') + '\n'); lines = [] }
  }
  if (lines.length) fs.writeSync(out, lines.join('\n') + '\n')
  fs.closeSync(out)
  fs.renameSync(DATA + '.tmp', DATA)
}

async function time (script: string): Promise<{ seconds: number, output: string, memory: Map<string, number> }> {
  const memory = watchMemory()
  const start = process.hrtime.bigint()
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += d })
    child.on('close', code => code === 0 ? resolve(out) : reject(new Error(`${script}: exit ${code}`)))
  })
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, output, memory: memory.stop() }
}

const WORDCOUNT = [`flat-map '_.split(" ")'`, `map '[_, 1]'`, 'reduce-by-key sum', 'count']

async function main (): Promise<void> {
  makeData()
  console.log(`word count over ${WORDS.toLocaleString('en')} words (${(fs.statSync(DATA).size / 1e6).toFixed(0)} MB), ${execFileSync('nproc').toString().trim()} cores`)
  const runs: Array<[string, string]> = [
    ['awk (mawk)', `awk '{ for (i = 1; i <= NF; i++) c[$i]++ } END { n = 0; for (w in c) n++; print n }' < ${DATA}`],
    ['node, hand-written', `node ${ROOT}/dist/bench/baseline-wordcount.js < ${DATA}`],
    ['dstream, piped', `dstream batch 1h < ${DATA} | dstream ${WORDCOUNT.join(' | dstream ')}`],
    ['dstream, fused', `dstream batch 1h ${WORDCOUNT.map(s => 'then ' + s).join(' ')} < ${DATA}`]
  ]
  const rate: Record<string, number> = {}
  for (const [name, script] of runs) {
    const { seconds, memory } = await time(script)
    rate[name] = WORDS / seconds
    const peak = Math.max(0, ...memory.values())
    console.log(`${name.padEnd(20)} ${seconds.toFixed(2).padStart(6)} s  ${Math.round(rate[name]).toLocaleString('en').padStart(12)} words/s${peak ? `  peak RSS ${peak.toFixed(0)} MB (largest process)` : ''}`)
  }
  const node = rate['node, hand-written']
  console.log('')
  console.log(`piped: ${Math.round(rate['dstream, piped']).toLocaleString('en')} words/s (target >= 1,000,000): ${rate['dstream, piped'] >= 1e6 ? 'met' : 'NOT met'}; ${(rate['dstream, piped'] / node * 100).toFixed(0)}% of hand-written node, ${(rate['dstream, piped'] / rate['awk (mawk)'] * 100).toFixed(0)}% of awk`)
  console.log(`fused: ${(rate['dstream, fused'] / node * 100).toFixed(0)}% of hand-written node (target >= 40%): ${rate['dstream, fused'] / node >= 0.4 ? 'met' : 'NOT met'}; ${(rate['dstream, fused'] / rate['awk (mawk)'] * 100).toFixed(0)}% of awk`)

  // the metrics every stage writes (lib/metrics): the same word count with batches of
  // 100 ms, so that there are batches to write about, with and without them, runs
  // alternating, the best of three of each
  console.log('\nmetrics: the word count in batches of 100 ms, with and without DSTREAM_METRICS=0 (best of 3, runs alternating)')
  for (const [name, script] of [['piped', `dstream batch 100ms < ${DATA} | dstream ${WORDCOUNT.join(' | dstream ')}`], ['fused', `dstream batch 100ms ${WORDCOUNT.map(s => 'then ' + s).join(' ')} < ${DATA}`]]) {
    const best = { on: Infinity, off: Infinity }
    for (let i = 0; i < 3; i++) {
      for (const mode of ['on', 'off'] as const) {
        const { seconds } = await time(mode === 'off' ? `export DSTREAM_METRICS=0; ${script}` : script)
        best[mode] = Math.min(best[mode], seconds)
      }
    }
    const slower = (best.on / best.off - 1) * 100
    console.log(`  ${name}: ${best.off.toFixed(2)} s without, ${best.on.toFixed(2)} s with: ${slower.toFixed(1)}% slower (target < 3%): ${slower < 3 ? 'met' : 'NOT met'}`)
  }

  const seconds = Number(process.env.ENDLESS_SECONDS ?? 15)
  console.log(`\nmemory: a stateless chain over an endless stream (yes | batch 1s | flat-map | map | filter) for ${seconds} s`)
  const memory = watchMemory()
  await time(`timeout ${seconds} bash -c "yes 'to be or not to be that is the question' | dstream batch 1s | dstream flat-map '_.split(\\" \\")' | dstream map '[_, 1]' | dstream filter '_[0] !== \\"to\\"' | wc -l" || true`)
  const peaks = memory.stop()
  for (const [name, mb] of peaks) console.log(`  ${name.padEnd(28)} peak RSS ${mb.toFixed(0)} MB`)
  const worst = Math.max(...peaks.values())
  console.log(`  largest: ${worst.toFixed(0)} MB (target < 100 MB): ${worst < 100 ? 'met' : 'NOT met'}`)
}

main().catch(err => { console.error(err); process.exit(1) })
