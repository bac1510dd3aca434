// bench/stage: what one piped stage costs beside the floor of its work. The same
// batch lines (as the stage before it writes them: chunks of 1,000 records, 100
// chunks a batch) go to one `dstream OP` process, stdin from a file, stdout into a
// pipe that this process hashes; and, in the same run, to a bare Node process (this
// file with --floor OP) that reads the lines, JSON.parses each, applies the same
// function, JSON.stringifies and writes in large blocks. Both outputs must be the
// same bytes. Printed: records/s of each, the ratio of the times stage/floor, and
// the start-up of a stage on an empty input, which is not per-record cost.
//   npm run bench:stage            (MB=10 RUNS=1 npm run bench:stage for a quick look)
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const MB = Number(process.env.MB ?? 50)
const RUNS = Number(process.env.RUNS ?? 3)
const CHUNK = 1000
const CHUNKS_PER_BATCH = 100
const INTERVAL = 1000
const T0 = 1_700_000_000_000

interface Case {
  name: string
  args: string[]
  input: 'words' | 'pairs'
  /** the floor's work on a parsed chunk: the line to write, or undefined for none */
  floor: () => (chunk: any) => string | undefined
}

const line = (chunk: any) => JSON.stringify(chunk) + '\n'

const CASES: Case[] = [
  {
    name: 'map',
    args: ['map', '[_, 1]'],
    input: 'words',
    floor: () => chunk => { chunk.records = chunk.records.map((w: string) => [w, 1]); return line(chunk) }
  },
  {
    name: 'filter',
    args: ['filter', '_.length > 4'],
    input: 'words',
    floor: () => chunk => { chunk.records = chunk.records.filter((w: string) => w.length > 4); return line(chunk) }
  },
  {
    name: 'reduce-by-key sum',
    args: ['reduce-by-key', 'sum'],
    input: 'pairs',
    floor: () => {
      const table = new Map<string, [string, number]>()
      return chunk => {
        for (const [k, v] of chunk.records) {
          const e = table.get(k)
          if (e === undefined) table.set(k, [k, v])
          else e[1] += v
        }
        if (chunk.more) return undefined
        const out = line({ time: chunk.time, interval: chunk.interval, records: [...table.values()] })
        table.clear()
        return out
      }
    }
  },
  {
    name: 'count',
    args: ['count'],
    input: 'words',
    floor: () => {
      let n = 0
      return chunk => {
        n += chunk.records.length
        if (chunk.more) return undefined
        const out = line({ time: chunk.time, interval: chunk.interval, records: [n] })
        n = 0
        return out
      }
    }
  }
]

/** The floor: stdin read in blocks, each line parsed, worked, stringified; output written 1 MB at a time. */
function floor (name: string): void {
  const work = CASES.find(c => c.name === name)!.floor()
  const buf = Buffer.allocUnsafe(1 << 20)
  let rest: Buffer | undefined
  let out = ''
  const flush = () => { if (out) { fs.writeSync(1, out); out = '' } }
  const take = (text: string) => {
    if (text.length === 0) return
    const written = work(JSON.parse(text))
    if (written !== undefined) { out += written; if (out.length > (1 << 20)) flush() }
  }
  for (;;) {
    let n: number
    try { n = fs.readSync(0, buf, 0, buf.length, null) } catch (err: any) { if (err.code === 'EAGAIN') continue; throw err }
    if (n === 0) break
    let data = buf.subarray(0, n)
    if (rest) { data = Buffer.concat([rest, data]); rest = undefined }
    let start = 0
    let end: number
    while ((end = data.indexOf(10, start)) !== -1) {
      take(data.toString('utf8', start, end))
      start = end + 1
    }
    if (start < data.length) rest = Buffer.from(data.subarray(start))
  }
  if (rest) take(rest.toString())
  flush()
}

function makeData (kind: 'words' | 'pairs'): { file: string, records: number } {
  const file = path.join(ROOT, 'bench', 'data', `stage-${kind}-${MB}mb.ndjson`)
  const meta = file + '.records'
  if (fs.existsSync(file) && fs.existsSync(meta)) return { file, records: Number(fs.readFileSync(meta, 'utf8')) }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  let seed = 42
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
  const vocabulary = Array.from({ length: 5000 }, (_, i) => 'w' + (i * 2654435761 % 1e6).toString(36))
  const fd = fs.openSync(file + '.tmp', 'w')
  let bytes = 0
  let records = 0
  let chunkNo = 0
  let block = ''
  // whole batches, until the size is reached
  while (bytes < MB * 1e6 || chunkNo % CHUNKS_PER_BATCH !== 0) {
    const recs: unknown[] = []
    for (let i = 0; i < CHUNK; i++) {
      const w = vocabulary[Math.floor(random() * random() * vocabulary.length)]
      recs.push(kind === 'words' ? w : [w, 1])
    }
    const time = T0 + (Math.floor(chunkNo / CHUNKS_PER_BATCH) + 1) * INTERVAL
    const more = (chunkNo % CHUNKS_PER_BATCH) !== CHUNKS_PER_BATCH - 1
    const text = JSON.stringify(more ? { time, interval: INTERVAL, records: recs, more } : { time, interval: INTERVAL, records: recs }) + '\n'
    block += text
    bytes += text.length
    records += CHUNK
    chunkNo++
    if (block.length > (1 << 20)) { fs.writeSync(fd, block); block = '' }
  }
  fs.writeSync(fd, block)
  fs.closeSync(fd)
  fs.renameSync(file + '.tmp', file)
  fs.writeFileSync(meta, String(records))
  return { file, records }
}

/** Runs a command with stdin from `input`; its stdout is hashed here. */
function time (argv: string[], input: string): Promise<{ seconds: number, hash: string, bytes: number }> {
  return new Promise((resolve, reject) => {
    const stdin = fs.openSync(input, 'r')
    const start = process.hrtime.bigint()
    const child = spawn(process.execPath, argv, { stdio: [stdin, 'pipe', 'inherit'], env: { ...process.env, DSTREAM_STATE_DIR: path.join(ROOT, 'bench', 'data', '.stage-state') } })
    fs.closeSync(stdin)
    const hash = createHash('sha1')
    let bytes = 0
    child.stdout!.on('data', (d: Buffer) => { hash.update(d); bytes += d.length })
    child.on('close', code => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      code === 0 ? resolve({ seconds, hash: hash.digest('hex'), bytes }) : reject(new Error(`${argv.join(' ')}: exit ${code}`))
    })
  })
}

const DSTREAM = path.join(ROOT, 'bin', 'dstream')
const SELF = fileURLToPath(import.meta.url)
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(11)

async function main (): Promise<void> {
  const only = process.env.STAGES?.split(',')
  const cases = CASES.filter(c => !only || only.includes(c.name))
  const empty = path.join(ROOT, 'bench', 'data', 'stage-empty.ndjson')
  fs.writeFileSync(empty, '')
  let startup = Infinity
  let floorStartup = Infinity
  for (let i = 0; i < 5; i++) {
    startup = Math.min(startup, (await time([DSTREAM, 'map', '[_, 1]'], empty)).seconds)
    floorStartup = Math.min(floorStartup, (await time([SELF, '--floor', 'map'], empty)).seconds)
  }
  console.log(`one stage over ${MB} MB of batch lines (chunks of ${CHUNK} records), best of ${RUNS}, node ${process.version}`)
  console.log(`start-up on an empty input: dstream map ${(startup * 1000).toFixed(0)} ms, floor ${(floorStartup * 1000).toFixed(0)} ms (included in the times below)\n`)
  console.log(`${'stage'.padEnd(20)} ${'records'.padStart(11)} ${'stage rec/s'.padStart(11)} ${'floor rec/s'.padStart(11)}  stage/floor  (start-up removed)`)
  for (const c of cases) {
    const { file, records } = makeData(c.input)
    let best = Infinity
    let bestFloor = Infinity
    for (let r = 0; r < RUNS; r++) {
      // alternating, so a load on the machine weighs on both
      const s = await time([DSTREAM, ...c.args], file)
      const f = await time([SELF, '--floor', c.name], file)
      if (s.hash !== f.hash) throw new Error(`${c.name}: the stage's output (${s.bytes} bytes) differs from the floor's (${f.bytes} bytes)`)
      best = Math.min(best, s.seconds)
      bestFloor = Math.min(bestFloor, f.seconds)
    }
    const net = (best - startup) / (bestFloor - floorStartup)
    console.log(`${c.name.padEnd(20)} ${fmt(records)} ${fmt(records / best)} ${fmt(records / bestFloor)}  ${(best / bestFloor).toFixed(2).padStart(10)}x  (${net.toFixed(2)}x)`)
  }
}

if (process.argv[2] === '--floor') floor(process.argv[3])
else await main()
