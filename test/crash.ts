// The crash driver of the restart tests (SPEC §4, "restart resumes"): runs a real
// shell pipeline of dstream commands, kills one of its processes with SIGKILL at a
// random moment, waits for the rest of the pipeline to go, starts it again, and so
// on; then lets a last run finish. Everything random comes from one seed, printed
// with every kill, so a failing run can be replayed with DSTREAM_CRASH_SEED.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { mulberry32 } from '../lib/intake/random.js'
import { shellQuote } from '../lib/ops/show.js'
import { DSTREAM, freshDir, userEnv } from './helpers.js'

/** The seeded PRNG (mulberry32), so kills can be replayed. */
export const random = mulberry32

export function seedFromEnv (): number {
  const given = process.env.DSTREAM_CRASH_SEED
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31)
}

export interface Run {
  /** each process's exit status, from bash's PIPESTATUS */
  statuses: number[]
  stderr: string
}

export interface Kill { run: number, stage: number, command: string, afterMs: number, afterProgress: boolean }

/**
 * One run of the pipeline `stages` (each the words after `dstream`) in `dir`, with
 * DSTREAM_STATE_DIR=dir/state. `killAfter`: SIGKILL one process (`stage`) that long
 * after the start. `stdin`: called with the run's stdin stream (a feeder), if any.
 */
export async function runPipeline (dir: string, stages: string[][], options: { kill?: { stage: number, afterMs: number, afterProgress?: boolean }, stdin?: (input: NodeJS.WritableStream, running: () => boolean) => void, timeoutMs?: number } = {}): Promise<Run> {
  const pids = fs.mkdtempSync(path.join(dir, 'pids-'))
  const status = path.join(pids, 'status')
  const commands = stages.map((words, i) => `bash -c 'echo $$ > "$0"; exec "$@"' ${shellQuote([path.join(pids, String(i)), DSTREAM, ...words])}`)
  const script = [
    'unset NODE_OPTIONS',
    `cd ${shellQuote([dir])}`,
    `export DSTREAM_STATE_DIR=${shellQuote([path.join(dir, 'state')])}`,
    `${commands.join(' | ')}`,
    `echo "\${PIPESTATUS[*]}" > ${shellQuote([status])}`
  ].join('\n')
  const child = spawn('bash', ['-c', script], { stdio: [options.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], env: userEnv() })
  let stderr = ''
  child.stderr!.on('data', d => { stderr += d })
  let running = true
  const closed = new Promise<void>(resolve => child.on('close', () => { running = false; resolve() }))
  if (options.stdin) {
    child.stdin!.on('error', () => {}) // the first process may die with data still to come
    options.stdin(child.stdin!, () => running)
  }
  if (options.kill) {
    const { stage, afterMs, afterProgress } = options.kill
    if (afterProgress) {
      // some kills come once the pipeline has committed something new, so that a
      // slow machine still makes progress between kills
      const before = committed(dir)
      for (let i = 0; i < 400 && running && committed(dir) === before; i++) await sleep(50)
    }
    let wait: NodeJS.Timeout | undefined
    await Promise.race([closed, new Promise(resolve => { wait = setTimeout(resolve, afterMs) })])
    clearTimeout(wait)
    const file = path.join(pids, String(stage))
    // a process that has not started yet is waited for: the kill is of a running one
    for (let i = 0; i < 100 && running && !fs.existsSync(file); i++) await sleep(50)
    if (running && fs.existsSync(file)) {
      try { process.kill(Number(fs.readFileSync(file, 'utf8')), 'SIGKILL') } catch { /* already gone */ }
    }
  }
  const timeout = options.timeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  const finished = await Promise.race([closed.then(() => true), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), timeout) })])
  clearTimeout(timer)
  if (!finished) {
    const alive = stages.map((words, i) => {
      const file = path.join(pids, String(i))
      return fs.existsSync(file) && isAlive(Number(fs.readFileSync(file, 'utf8'))) ? `dstream ${words[0]}` : undefined
    }).filter(Boolean)
    child.kill('SIGKILL')
    for (const file of fs.readdirSync(pids)) if (/^\d+$/.test(file)) try { process.kill(Number(fs.readFileSync(path.join(pids, file), 'utf8')), 'SIGKILL') } catch {}
    throw new Error(`the pipeline did not end within ${timeout} ms; still running: ${alive.join(', ')}\n${stderr}`)
  }
  const statuses = fs.existsSync(status) ? fs.readFileSync(status, 'utf8').trim().split(' ').map(Number) : []
  fs.rmSync(pids, { recursive: true, force: true })
  return { statuses, stderr }
}

/**
 * Runs the pipeline again and again, each time killing a random process of it at a
 * random moment, `kills` times; `stages(run)` may change the pipeline per run.
 */
export async function crashRuns (dir: string, seed: number, kills: number, stages: string[][], options: { minMs: number, maxMs: number, stdin?: NonNullable<Parameters<typeof runPipeline>[2]>['stdin'], afterRun?: () => void, log: (text: string) => void }): Promise<Kill[]> {
  const next = random(seed)
  const done: Kill[] = []
  for (let run = 1; run <= kills; run++) {
    const stage = Math.floor(next() * stages.length)
    const afterProgress = run % 2 === 0
    const afterMs = Math.round(afterProgress ? next() * options.maxMs / 2 : options.minMs + next() * (options.maxMs - options.minMs))
    const kill = { run, stage, command: stages[stage][0], afterMs, afterProgress }
    options.log(`seed ${seed}: run ${run}: kill -9 dstream ${kill.command} (stage ${stage}) ${afterMs} ms after ${afterProgress ? 'the next commit of a sink' : 'the start'}`)
    const ran = await runPipeline(dir, stages, { kill, stdin: options.stdin })
    fs.appendFileSync(path.join(dir, 'stderr.log'), `--- run ${run}: killed ${kill.command} after ${afterMs} ms; statuses ${ran.statuses.join(' ')}\n${ran.stderr}`)
    options.afterRun?.()
    done.push(kill)
  }
  return done
}

/** The sum of the sinks' committed batch times in dir/state: it grows when any sink commits. */
function committed (dir: string): number {
  let sum = 0
  const state = path.join(dir, 'state')
  for (const name of fs.existsSync(state) ? fs.readdirSync(state) : []) {
    try { sum += JSON.parse(fs.readFileSync(path.join(state, name, 'commit.json'), 'utf8')).committed ?? 0 } catch { /* not a sink, or being written */ }
  }
  return sum
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The files a `save PREFIX` wrote, name → content. */
export function savedFiles (dir: string): Map<string, string> {
  const files = new Map<string, string>()
  if (!fs.existsSync(dir)) return files
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue
    files.set(name, fs.readFileSync(path.join(dir, name), 'utf8'))
  }
  return files
}

/** The words of `lines`, counted. */
export function wordCounts (lines: string[]): Map<string, number> {
  const totals = new Map<string, number>()
  for (const line of lines) for (const word of line.split(' ')) totals.set(word, (totals.get(word) ?? 0) + 1)
  return totals
}

/** Per word: the sum over the files PREFIX-* of `save`d [word, n] lines; and the last file's [word, n]. */
export function savedCounts (out: string, prefix: string): { summed: Map<string, number>, last: Map<string, number> } {
  const files = savedFiles(out)
  const summed = new Map<string, number>()
  const names = [...files.keys()].filter(n => n.startsWith(prefix + '-')).sort()
  for (const name of names) {
    for (const line of files.get(name)!.split('\n').filter(Boolean)) {
      const [word, n] = JSON.parse(line)
      summed.set(word, (summed.get(word) ?? 0) + n)
    }
  }
  const last = new Map<string, number>((files.get(names.at(-1)!) ?? '').split('\n').filter(Boolean).map(l => JSON.parse(l) as [string, number]))
  return { summed, last }
}

export const sortedEntries = (m: Map<string, number>): Array<[string, number]> => [...m].sort(([a], [b]) => a < b ? -1 : 1)

/** The stages after a processing-time source: per-batch counts saved (and passed on), running counts windowed and saved. */
export const COUNTING = [
  ['reduce-by-key', 'sum'],
  ['save', 'out/counts', '--pass'],
  ['update-state-by-key', '(vs, s) => vs.reduce((a, b) => a + b, s ?? 0)'],
  ['reduce-by-key-and-window', 'max', '--length', '1s'],
  ['save', 'out/running']
]

const WORDS = ['spark', 'kafka', 'flink', 'storm', 'beam', 'samza', 'heron', 'pulsar']

/** One to five words, at random. */
export function sentence (next: () => number): string[] {
  return Array.from({ length: 1 + Math.floor(next() * 5) }, () => WORDS[Math.floor(next() * WORDS.length)])
}

/** The stages after an event-time source: running counts per word, windowed, saved. */
export const WINDOWED_STATE = [
  ['update-state-by-key', '(vs, s) => (s ?? 0) + vs.length'],
  ['reduce-by-key-and-window', 'max', '--length', '3s'],
  ['save', 'out/c']
]

/** Records with timestamps that move forward with disorder; every 50th later than a 1s watermark allows. */
export function timedRecords (next: () => number, count: number): string[] {
  const start = 1_700_000_000_000
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: i, ts: start + i * 25 + Math.round((next() - 0.5) * 1500) - (i % 50 === 49 ? 4000 : 0), words: sentence(next) }))
}

/** Names of the files saved under `got` that differ from those under `expected`; and whether the names are the same. */
export function compareSaved (expected: string, got: string): { expected: string[], got: string[], differing: string[] } {
  const want = savedFiles(expected)
  const have = savedFiles(got)
  return { expected: [...want.keys()], got: [...have.keys()], differing: [...want].filter(([name, text]) => have.get(name) !== text).map(([name]) => name) }
}

/** On a failure: the runs' directories copied where they survive the test, and where that is. */
export function keep (seed: number, dirs: Record<string, string>): string {
  const where = path.join(os.tmpdir(), `dstream-crash-${seed}`)
  for (const [name, dir] of Object.entries(dirs)) fs.cpSync(dir, path.join(where, name), { recursive: true })
  return where
}

/** Appends `lines` to `file` a few at a time while the runs go on; stop() appends the rest at once. */
export function appendWhileRunning (file: string, lines: string[], everyMs: number, perTick: number): { stop(): void } {
  let i = 0
  let timer: NodeJS.Timeout | undefined
  const tick = () => {
    fs.appendFileSync(file, lines.slice(i, i + perTick).map(l => l + '\n').join(''))
    i += perTick
    if (i < lines.length) timer = setTimeout(tick, everyMs)
  }
  tick()
  return {
    stop () {
      clearTimeout(timer)
      if (i < lines.length) fs.appendFileSync(file, lines.slice(i).map(l => l + '\n').join(''))
      i = lines.length
    }
  }
}

/** What a crash test checks its runs with. */
interface Checks { comment(text: string): unknown, same(found: unknown, wanted: unknown, message: string): unknown }

/**
 * The common crash test fed by one file: `lines` are appended to DIR/input.log while
 * the pipeline (`stages(false)`) is killed `kills` times, then a last run
 * (`stages(true)`, the --once form) reads to the end; beside it, an uninterrupted
 * run over the whole file. Both must end cleanly.
 */
export async function crashedAndWhole (t: Checks, seed: number, kills: number, lines: string[], stages: (once: boolean) => string[][], perTick = 20): Promise<{ crashed: string, whole: string, kills: Kill[] }> {
  const crashed = freshDir()
  const input = appendWhileRunning(path.join(crashed, 'input.log'), lines, 40, perTick)
  const done = await crashRuns(crashed, seed, kills, stages(false), { minMs: 300, maxMs: 2500, log: text => t.comment(text) })
  input.stop()
  const last = await runPipeline(crashed, stages(true))
  t.same(last.statuses, stages(true).map(() => 0), `the last run ends cleanly\n${last.stderr}`)
  const whole = freshDir()
  fs.writeFileSync(path.join(whole, 'input.log'), lines.map(l => l + '\n').join(''))
  const reference = await runPipeline(whole, stages(true))
  t.same(reference.statuses, stages(true).map(() => 0), reference.stderr)
  return { crashed, whole, kills: done }
}
