// bench/spark: dstream against Spark Streaming 3.5 `local[2]` on the same lines, in
// this one run: the word count, reduce-by-key-and-window (30 s window, 1 s slide, with
// an inverse) and update-state-by-key over 1,000,000 keys, each as a PySpark job and a
// Scala job (bench/spark/jobs.py, bench/spark/jobs.scala), dstream fused, fused with
// --partitions 2, and piped, and for the word count a hand-written Node loop.
//   npm run bench:spark
//   (WORDS_PER_BATCH=2000000 BATCHES=10 VOCABULARY=10000 STATE_KEYS=1000000 are the
//   defaults; STATE_BATCHES (default 5), WINDOW_BATCHES override BATCHES for those jobs;
//   JOBS=wordcount,window,state; SCALA=0 skips the Scala jobs; SPARK_PYTHON=python
//   that can import pyspark)
// Spark comes from PyPI (pip install pyspark==3.5.*) and only this bench uses it: never
// the tests, never CI. Without it the bench says so and exits 0.
//
// How the two sides' figures are made comparable. Both get the same lines: Spark one
// file per batch (bench/data/spark-…/batch-NNNN.txt, a queueStream of sc.textFile RDDs,
// one a batch interval), dstream the same files one after the other on stdin, faster
// than real time. Spark's batches come every interval whatever its speed, so its
// figure is the words of the steady-state batches (all but the first 2: JVM JIT, Python
// workers starting) over the time those batches took, measured inside foreachRDD around
// the action that runs them (PySpark has no StreamingListener). JVM start-up and the
// idle time between batches are not counted. dstream's figure is all the words over
// the wall time of the whole pipeline, process start-up and first batches included,
// so it is the conservative one of the two. The word count batches dstream's stdin by
// processing time (`batch 2s`, as a user would), so it makes as many batches as its
// wall time allows; the window and the state are about batches (a window slides once a
// batch, the state is updated for every key once a batch), so there dstream batches by
// event time (`--event-time`, a batch time in front of each line, dropped by the
// flat-map) into exactly Spark's batches: slightly more work for dstream. Checkpoints:
// both sides at Spark's default cadence for the job (every 10 s of batches: the window
// every 10th 1 s batch, the state every 5th 2 s batch); the word count has no state.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin')
const JOBS_DIR = path.join(ROOT, 'bench', 'spark')
const WORDS_PER_BATCH = Number(process.env.WORDS_PER_BATCH ?? 2_000_000)
const BATCHES = Number(process.env.BATCHES ?? 10)
const VOCABULARY = Number(process.env.VOCABULARY ?? 10_000)
const STATE_KEYS = Number(process.env.STATE_KEYS ?? 1_000_000)
const JOBS = (process.env.JOBS ?? 'wordcount,window,state').split(',')
const SCALA = process.env.SCALA !== '0'
const WARMUP = 2
const WORDS_PER_LINE = 10

// ---- finding Spark ------------------------------------------------------------

/** The python that can import pyspark, and the pyspark folder (SPARK_HOME), or undefined. */
function findSpark (): { python: string, home: string } | undefined {
  const candidates = process.env.SPARK_PYTHON ? [process.env.SPARK_PYTHON] : ['python3', '/tmp/sparkenv/bin/python']
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'], { encoding: 'utf8' })
    if (r.status === 0) return { python, home: r.stdout.trim() }
  }
  return undefined
}

// ---- the input ----------------------------------------------------------------

interface Job {
  name: string
  interval: number
  batches: number
  vocabulary: number
  /** 'uniform' for state keys, 'text' (skewed) for words */
  spread: 'uniform' | 'text'
  /** dstream's chain after the source and the flat-map, and the --partitions place */
  chain: (partitions: boolean) => string[]
  /** the checkpoint cadence, in batches (Spark's default: 10 s of batches) */
  checkpointEvery?: number
}

const JOB_LIST: Job[] = [
  { name: 'wordcount', interval: 2000, batches: BATCHES, vocabulary: VOCABULARY, spread: 'text', chain: p => ['reduce-by-key sum' + (p ? ' --partitions 2' : '')] },
  {
    name: 'window',
    interval: 1000,
    batches: Number(process.env.WINDOW_BATCHES ?? BATCHES),
    vocabulary: VOCABULARY,
    spread: 'text',
    checkpointEvery: 10,
    chain: p => [`reduce-by-key-and-window '(a, b) => a + b' --inverse '(a, b) => a - b' --length 30s --slide 1s` + (p ? ' --partitions 2' : '')]
  },
  {
    name: 'state',
    interval: 2000,
    // 5 by default, not 10: PySpark takes tens of seconds a batch over 1,000,000 keys
    batches: Number(process.env.STATE_BATCHES ?? Math.min(BATCHES, 5)),
    vocabulary: STATE_KEYS,
    spread: 'uniform',
    checkpointEvery: 5,
    chain: p => [`update-state-by-key '(values, count) => (count ?? 0) + values.reduce((a, b) => a + b, 0)'` + (p ? ' --partitions 2' : '')]
  }
]

/** One file of lines per batch, made once and kept in bench/data. */
function makeBatches (job: Job): string {
  const dir = path.join(ROOT, 'bench', 'data', `spark2-${job.spread}-${job.vocabulary}-${WORDS_PER_BATCH}`)
  fs.mkdirSync(dir, { recursive: true })
  // mulberry32: the LCG of bench/wordcount.ts in doubles loses its low bits and reaches
  // only a few ten thousand of 1,000,000 keys
  let seed = 42
  const random = () => {
    seed = (seed + 0x6D2B79F5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const vocabulary = Array.from({ length: job.vocabulary }, (_, i) => 'w' + i.toString(36))
  const pick = job.spread === 'text' ? () => vocabulary[Math.floor(random() * random() * vocabulary.length)] : () => vocabulary[Math.floor(random() * vocabulary.length)]
  for (let b = 0; b < job.batches; b++) {
    const file = path.join(dir, `batch-${String(b).padStart(4, '0')}.txt`)
    seed = 42 + b * 7919
    if (fs.existsSync(file)) continue
    const out = fs.openSync(file + '.tmp', 'w')
    let lines: string[] = []
    for (let i = 0; i < WORDS_PER_BATCH / WORDS_PER_LINE; i++) {
      const words = []
      for (let j = 0; j < WORDS_PER_LINE; j++) words.push(pick())
      lines.push(words.join(' '))
      if (lines.length === 10000) { fs.writeSync(out, lines.join('\n') + '\n'); lines = [] }
    }
    if (lines.length) fs.writeSync(out, lines.join('\n') + '\n')
    fs.closeSync(out)
    fs.renameSync(file + '.tmp', file)
  }
  return dir
}

const batchFiles = (dir: string, n: number) => Array.from({ length: n }, (_, b) => path.join(dir, `batch-${String(b).padStart(4, '0')}.txt`))

/** The same batches as one file, each line led by its batch's event time (for --event-time). */
function makeTimed (dir: string, job: Job): string {
  const file = path.join(dir, `timed-${job.interval}-${job.batches}.txt`)
  if (fs.existsSync(file)) return file
  const out = fs.openSync(file + '.tmp', 'w')
  const base = 1_700_000_000_000 // a multiple of every interval here
  for (const [b, f] of batchFiles(dir, job.batches).entries()) {
    const prefix = `${base + b * job.interval + 1} `
    const text = fs.readFileSync(f, 'utf8')
    fs.writeSync(out, prefix + text.slice(0, -1).replaceAll('\n', '\n' + prefix) + '\n')
  }
  fs.closeSync(out)
  fs.renameSync(file + '.tmp', file)
  return file
}

// ---- running and measuring ------------------------------------------------------

/** Peak of the summed resident set of a process and all its descendants, from /proc. */
function watchTree (root: number): { stop(): number } {
  let peak = 0
  const timer = setInterval(() => {
    const children = new Map<number, number[]>()
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        children.set(ppid, [...(children.get(ppid) ?? []), Number(p)])
      } catch { /* gone */ }
    }
    let kb = 0
    const todo = [root]
    while (todo.length) {
      const pid = todo.pop()!
      try { kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) } catch { /* gone */ }
      todo.push(...(children.get(pid) ?? []))
    }
    peak = Math.max(peak, kb / 1024)
  }, 100)
  return { stop () { clearInterval(timer); return peak } }
}

async function run (script: string, env: Record<string, string> = {}): Promise<{ seconds: number, output: string, peak: number }> {
  const start = process.hrtime.bigint()
  const child = spawn('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const memory = watchTree(child.pid!)
  let out = ''
  let err = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { err += d })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const peak = memory.stop()
  if (code !== 0) throw new Error(`${script.slice(0, 200)}: exit ${code}\n${err.split('\n').filter(l => !/ INFO |WARN/.test(l)).slice(-20).join('\n')}`)
  return { seconds, output: out, peak }
}

interface Row { job: string, mode: string, rate: number, peak: number, note: string }

interface SparkResult { batches: Array<{ time: number, ms: number, count: number }>, wall_ms: number, spark: string }

async function runSpark (spark: { python: string, home: string }, lang: 'python' | 'scala', job: Job, dir: string): Promise<Row> {
  const result = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-spark-')), 'result.json')
  const work = path.dirname(result)
  // the jobs read every batch-* file of BATCH_DIR: give them exactly this job's
  for (const f of batchFiles(dir, job.batches)) fs.symlinkSync(f, path.join(work, path.basename(f)))
  const env = { SPARK_HOME: spark.home, PYSPARK_PYTHON: spark.python, PYSPARK_DRIVER_PYTHON: spark.python }
  const conf = "--master 'local[2]' --conf spark.ui.showConsoleProgress=false --driver-memory 4g"
  const script = lang === 'python'
    ? `'${spark.home}/bin/spark-submit' ${conf} '${JOBS_DIR}/jobs.py' ${job.name} '${work}' ${job.batches} ${job.interval / 1000} '${result}'`
    : `JOB=${job.name} BATCH_DIR='${work}' BATCHES=${job.batches} INTERVAL_MS=${job.interval} RESULT='${result}' '${spark.home}/bin/spark-shell' ${conf} -i '${JOBS_DIR}/jobs.scala' < /dev/null`
  const { peak } = await run(script, env)
  const r = JSON.parse(fs.readFileSync(result, 'utf8')) as SparkResult
  // the queue's batches come first, in time order; the empty batches after them, which
  // ran while the job was being stopped, are not counted
  r.batches = r.batches.sort((a, b) => a.time - b.time).slice(0, job.batches)
  fs.rmSync(work, { recursive: true, force: true })
  const steady = r.batches.slice(WARMUP)
  const ms = steady.reduce((a, b) => a + b.ms, 0)
  const sorted = steady.map(b => b.ms).sort((a, b) => a - b)
  const note = `${r.batches.length} batches; batches ${WARMUP + 1}-${r.batches.length}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (interval ${job.interval} ms); first ${r.batches.slice(0, WARMUP).map(b => b.ms.toFixed(0)).join(', ')} ms; ${r.batches[r.batches.length - 1].count} keys out`
  return { job: job.name, mode: lang === 'python' ? `Spark ${r.spark} PySpark (Python lambdas)` : `Spark ${r.spark} Scala (spark-shell)`, rate: WORDS_PER_BATCH * steady.length / (ms / 1000), peak, note }
}

async function runDstream (job: Job, dir: string, mode: 'fused' | 'fused --partitions 2' | 'piped'): Promise<Row> {
  const eventTime = job.name !== 'wordcount'
  const input = eventTime ? `cat '${makeTimed(dir, job)}' |` : `cat ${batchFiles(dir, job.batches).map(f => `'${f}'`).join(' ')} |`
  const source = eventTime ? `batch ${job.interval / 1000}s --event-time 'parseInt(_)'` : `batch ${job.interval / 1000}s`
  const flatMap = eventTime ? `flat-map '_.slice(_.indexOf(" ") + 1).split(" ")'` : `flat-map '_.split(" ")'`
  const stages = [source, flatMap, `map '[_, 1]'`, ...job.chain(mode === 'fused --partitions 2'), 'count']
  const checkpoint = job.checkpointEvery ? ` --checkpoint-every ${job.checkpointEvery}` : ''
  stages[stages.length - 2] += checkpoint
  const pipeline = mode === 'piped' ? stages.map(s => `dstream ${s}`).join(' | ') : `dstream ${stages.join(' then ')}`
  const script = `${input} ${pipeline}`
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-spark-state-'))
  const { seconds, output, peak } = await run(script, { DSTREAM_STATE_DIR: state })
  fs.rmSync(state, { recursive: true, force: true })
  const batches = output.trim().split('\n').map(l => JSON.parse(l) as { time: number, records: number[] })
  const last = batches[batches.length - 1]?.records[0]
  const note = `${seconds.toFixed(2)} s wall, ${batches.length} batches${eventTime ? ' (event time)' : ' (processing time)'}; ${last} keys out${mode === 'fused --partitions 2' ? `; ${{ wordcount: 'reduce-by-key', window: 'reduce-by-key-and-window', state: 'update-state-by-key' }[job.name]} on 2 worker threads` : ''}`
  return { job: job.name, mode: `dstream ${mode}`, rate: WORDS_PER_BATCH * job.batches / seconds, peak, note }
}

async function runHand (job: Job, dir: string): Promise<Row> {
  const { seconds, peak } = await run(`cat ${batchFiles(dir, job.batches).map(f => `'${f}'`).join(' ')} | node '${ROOT}/dist/bench/baseline-wordcount.js'`)
  return { job: job.name, mode: 'node, hand-written loop', rate: WORDS_PER_BATCH * job.batches / seconds, peak, note: `${seconds.toFixed(2)} s wall, one Map, no batches` }
}

// ---- the table ------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en')
const ratio = (a: number, b: number | undefined) => b ? (a / b).toFixed(2) + '×' : '–'

function verdict (what: string, value: number | undefined, target: number, stretch?: number): string {
  if (value === undefined) return `  ${what}: not measured`
  return `  ${what}: ${value.toFixed(2)}× (target ≥ ${target}×${stretch ? `, stretch ${stretch}×` : ''}): ${value >= target ? 'met' : 'NOT met'}${stretch && value >= stretch ? ', stretch met' : ''}`
}

async function main (): Promise<void> {
  const spark = findSpark()
  if (!spark) {
    console.log('skipped: no Spark (pip install pyspark==3.5.*)')
    return
  }
  const started = Date.now()
  console.log(`dstream against Spark Streaming local[2]: ${BATCHES} batches of ${fmt(WORDS_PER_BATCH)} words (${WORDS_PER_LINE}-word lines); node ${process.version}, ${execFileSync('nproc').toString().trim()} cores; Spark from ${spark.home} (python ${spark.python})`)
  const rows: Row[] = []
  for (const job of JOB_LIST.filter(j => JOBS.includes(j.name))) {
    const dir = makeBatches(job)
    console.log(`\n${job.name}: ${job.batches} batches of ${job.interval / 1000} s, ${fmt(job.vocabulary)} distinct words (${job.spread === 'text' ? 'skewed like text' : 'uniform'})`)
    const runs: Array<() => Promise<Row>> = [
      () => runSpark(spark, 'python', job, dir),
      ...(SCALA ? [() => runSpark(spark, 'scala', job, dir)] : []),
      ...(job.name === 'wordcount' ? [() => runHand(job, dir)] : []),
      () => runDstream(job, dir, 'fused'),
      () => runDstream(job, dir, 'fused --partitions 2'),
      () => runDstream(job, dir, 'piped')
    ]
    for (const r of runs) {
      try {
        const row = await r()
        rows.push(row)
        console.log(`  ${row.mode.padEnd(38)} ${fmt(row.rate).padStart(12)} words/s  peak RSS ${row.peak.toFixed(0)} MB  (${row.note})`)
      } catch (err) {
        console.log(`  failed: ${(err as Error).message}`)
      }
    }
  }

  console.log('\n' + ['job', 'mode', 'words/s', '/ PySpark', '/ Scala', '/ hand loop', 'peak RSS'].map((h, i) => i < 2 ? h.padEnd(i ? 38 : 10) : h.padStart(12)).join(' '))
  for (const row of rows) {
    const of = (prefix: string) => rows.find(r => r.job === row.job && r.mode.startsWith(prefix))?.rate
    const hand = rows.find(r => r.job === 'wordcount' && r.mode.startsWith('node'))?.rate
    console.log([row.job.padEnd(10), row.mode.padEnd(38), fmt(row.rate).padStart(12), ratio(row.rate, of('Spark 3.5.9 PySpark') ?? of('Spark') ).padStart(12), ratio(row.rate, rows.find(r => r.job === row.job && r.mode.includes('Scala'))?.rate).padStart(12),
      (row.job === 'wordcount' ? ratio(row.rate, hand) : '–').padStart(12), `${row.peak.toFixed(0)} MB`.padStart(12)].join(' '))
  }
  console.log('(words/s: Spark = steady-state batches over their processing time; dstream and the hand loop = all words over wall time. peak RSS: the whole process tree — JVM and Python workers, every process of a pipe. The hand loop is a word count only: no ratio for the other jobs.)')

  console.log('\ntargets (against PySpark, the Spark the issue installs; the Scala ratio is in the table):')
  for (const job of JOB_LIST.filter(j => JOBS.includes(j.name))) {
    const rate = (mode: string) => rows.find(r => r.job === job.name && r.mode === mode)?.rate
    const py = rows.find(r => r.job === job.name && r.mode.includes('PySpark'))?.rate
    const div = (a: number | undefined, b: number | undefined) => a && b ? a / b : undefined
    console.log(`${job.name}:`)
    console.log(verdict('fused --partitions 2 / Spark', div(rate('dstream fused --partitions 2'), py), 1.5, 2))
    if (job.name === 'wordcount') console.log(verdict('fused (one core) / hand loop', div(rate('dstream fused'), rows.find(r => r.mode.startsWith('node'))?.rate), 0.6))
    console.log(verdict('piped / Spark', div(rate('dstream piped'), py), 0.5))
  }
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)
}

main().catch(err => { console.error(err); process.exit(1) })
