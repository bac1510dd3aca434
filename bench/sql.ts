// bench/sql: `dstream sql 'SELECT key, sum(value) FROM batch GROUP BY key'` beside
// `dstream reduce-by-key sum` on the same batches in the same run, for batches of
// 1,000, 100,000 and 1,000,000 pairs over 10,000 keys: rows per second, and the fixed
// cost of a batch (over 2,000 empty ones). Each is its own process reading the batch
// lines from a file and writing its batches to /dev/null, as a piped stage runs; the
// start of the process (one empty input) is taken off, so what is left is the work
// per row and per batch. Wall time and CPU time (user + system, of the process and
// the threads DuckDB runs) beside each other: DuckDB uses both cores.
//   npm run bench:sql                 (ROWS=2000000 a size, the default)
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin', 'dstream')
const DATA = path.join(ROOT, 'bench', 'data')
const ROWS = Number(process.env.ROWS ?? 2_000_000)
const KEYS = 10_000
const EMPTY = 2000
const SIZES = (process.env.SIZES ?? '1000,100000,1000000').split(',').map(Number)
const QUERY = 'SELECT key, sum(value) FROM batch GROUP BY key'

/** NDJSON batches of `size` pairs ["k123", n], `rows` in all (or `count` empty batches). */
function data (name: string, write: (out: number) => void): string {
  const file = path.join(DATA, name)
  if (fs.existsSync(file)) return file
  fs.mkdirSync(DATA, { recursive: true })
  const out = fs.openSync(file + '.tmp', 'w')
  write(out)
  fs.closeSync(out)
  fs.renameSync(file + '.tmp', file)
  return file
}

function pairs (size: number): string {
  return data(`sql-pairs-${size}-${ROWS}.ndjson`, out => {
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
    for (let at = 0, time = 1000; at < ROWS; at += size, time += 1000) {
      const records = Array.from({ length: Math.min(size, ROWS - at) }, () => [`k${Math.floor(random() * KEYS)}`, Math.floor(random() * 100)])
      fs.writeSync(out, JSON.stringify({ time, interval: 1000, records }) + '\n')
    }
  })
}

function empties (count: number): string {
  return data(`sql-empty-${count}.ndjson`, out => {
    for (let i = 1; i <= count; i++) fs.writeSync(out, `{"time":${i * 1000},"interval":1000,"records":[]}\n`)
  })
}

interface Timed { wall: number, cpu: number }

/** The command with `file` on stdin, its output to /dev/null: wall and CPU seconds (bash's times, children included). */
function run (words: string[], file: string): Promise<Timed> {
  const quoted = words.map(w => `'${w.replace(/'/g, "'\\''")}'`).join(' ')
  const script = `start=$(date +%s%N); ${BIN} ${quoted} < ${file} > /dev/null || exit 1; end=$(date +%s%N); times; echo "wall $(( (end - start) / 1000 ))"`
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += d })
    child.on('close', code => {
      if (code !== 0) return reject(new Error(`${words.join(' ')}: exit ${code}`))
      // times: the shell's own user/sys, then its children's
      const lines = out.trim().split('\n')
      const children = lines[1].split(/\s+/).map(t => { const m = /(\d+)m([\d.]+)s/.exec(t)!; return Number(m[1]) * 60 + Number(m[2]) })
      resolve({ wall: Number(/wall (\d+)/.exec(out)![1]) / 1e6, cpu: children[0] + children[1] })
    })
  })
}

/** The best of three (the machine is shared); start-up measured once per command. */
async function best (words: string[], file: string): Promise<Timed> {
  const runs: Timed[] = []
  for (let i = 0; i < 3; i++) runs.push(await run(words, file))
  return runs.sort((a, b) => a.wall - b.wall)[0]
}

const OPERATORS: Array<[string, string[]]> = [
  ['reduce-by-key sum', ['reduce-by-key', 'sum']],
  ['sql GROUP BY', ['sql', QUERY]]
]

async function main (): Promise<void> {
  const none = empties(0)
  const empty = empties(EMPTY)
  console.log(`sql beside reduce-by-key: ${ROWS.toLocaleString('en')} pairs over ${KEYS.toLocaleString('en')} keys per batch size; best of 3`)
  const start: Record<string, Timed> = {}
  for (const [name, words] of OPERATORS) start[name] = await best(words, none)
  console.log(`start of a process: ${OPERATORS.map(([name]) => `${name} ${(start[name].wall * 1000).toFixed(0)} ms`).join(', ')}`)
  console.log('\n| batch size | operator | rows/s | share of reduce-by-key | CPU s |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const size of SIZES) {
    const file = pairs(size)
    const rates: Record<string, number> = {}
    for (const [name, words] of OPERATORS) {
      const t = await best(words, file)
      rates[name] = ROWS / Math.max(1e-6, t.wall - start[name].wall)
      const share = rates[name] / rates['reduce-by-key sum']
      console.log(`| ${size.toLocaleString('en')} | ${name} | ${Math.round(rates[name]).toLocaleString('en')} | ${(share * 100).toFixed(0)}% | ${t.cpu.toFixed(2)} |`)
    }
  }
  console.log(`\nfixed cost of a batch (${EMPTY.toLocaleString('en')} empty batches):`)
  for (const [name, words] of OPERATORS) {
    const t = await best(name === 'sql GROUP BY' ? ['sql', '--schema', 'key VARCHAR, value DOUBLE', QUERY] : words, empty)
    console.log(`  ${name}: ${((t.wall - start[name].wall) / EMPTY * 1000).toFixed(3)} ms a batch (CPU ${t.cpu.toFixed(2)} s)`)
  }
  console.log('\ntargets: sql >= 1,000,000 rows/s on batches of 100,000, within 2x of reduce-by-key there, < 5 ms a batch')
}

await main()
