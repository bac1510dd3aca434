// What the tests share: run an operator (or a `then` chain) in this process over a
// table of input batches, or run the real commands through real pipes.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseChain } from '../lib/cli/main.js'
import { run } from '../lib/engine/runner.js'
import { Assembler } from '../lib/core/assemble.js'
import { parseChunk, formatChunk } from '../lib/core/wire.js'
import type { Chunk } from '../lib/core/types.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const DSTREAM = path.join(ROOT, 'bin', 'dstream')

export interface Ran {
  code: number
  /** whole batches, chunks assembled */
  batches: Chunk[]
  /** records of each batch, for table comparisons */
  records: unknown[][]
  /** the chunks as they were written */
  chunks: Chunk[]
  stdout: string
  stderr: string
}

export interface TableOptions {
  interval?: number
  /** time of the first batch (default: interval) */
  start?: number
  /** split every batch into chunks of this many records (with "more") */
  chunk?: number
  env?: NodeJS.ProcessEnv
}

/** Input batches (one array of records each) as wire lines, times interval, 2*interval, ... */
export function batchLines (batches: unknown[][], { interval = 1000, start = interval, chunk }: TableOptions = {}): string {
  let text = ''
  batches.forEach((records, i) => {
    const time = start + i * interval
    if (!chunk || records.length <= chunk) { text += formatChunk({ time, interval, records }); return }
    for (let j = 0; j < records.length; j += chunk) {
      const part = records.slice(j, j + chunk)
      text += formatChunk(j + chunk < records.length ? { time, interval, records: part, more: true } : { time, interval, records: part })
    }
  })
  return text
}

export function parseOutput (stdout: string): { batches: Chunk[], chunks: Chunk[] } {
  const chunks: Chunk[] = []
  const batches: Chunk[] = []
  const order = new Assembler()
  for (const line of stdout.split('\n')) {
    if (!line) continue
    const chunk = parseChunk(line)
    if (typeof chunk === 'string') throw new Error(`output line is not a batch (${chunk}): ${line}`)
    chunks.push(chunk)
    const wrong = order.check(chunk)
    if (wrong) throw new Error(`output out of order: ${wrong}`)
    const batch = order.push(chunk)
    if (batch) batches.push(batch)
  }
  return { batches, chunks }
}

const made: string[] = []
process.on('exit', () => { for (const dir of made) fs.rmSync(dir, { recursive: true, force: true }) })

/** A temporary directory removed when the test process exits. */
export function freshDir (): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-test-'))
  made.push(dir)
  return dir
}

/** Runs `words` (an operator and its arguments, or a chain with `then`) in this process. */
export async function runWords (words: string[], stdin: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  const input = new PassThrough()
  const output = new PassThrough()
  const errors = new PassThrough()
  let stdout = ''
  let stderr = ''
  output.on('data', d => { stdout += d })
  errors.on('data', d => { stderr += d })
  let code: number
  // a fresh state directory for every run, unless the test names one: runs must not resume each other
  const fullEnv = { ...process.env, DSTREAM_STATE_DIR: freshDir(), ...env }
  try {
    const specs = await parseChain(words, fullEnv)
    input.end(stdin)
    code = await run(specs, { stdin: input, stdout: output, stderr: errors, env: fullEnv })
  } catch (err) {
    code = (err as any).exitCode ?? 1
    stderr += (err as Error).message
  }
  return { code, stdout, stderr }
}

/** Feeds a table of input batches to the operator; returns what came out. */
export async function runTable (words: string[], input: unknown[][], options: TableOptions = {}): Promise<Ran> {
  const ran = await runWords(words, batchLines(input, options), options.env)
  const parsed = ran.code === 0 || ran.stdout ? safeParse(ran.stdout) : { batches: [], chunks: [] }
  return { ...ran, ...parsed, records: parsed.batches.map(b => b.records) }
}

function safeParse (stdout: string) {
  try { return parseOutput(stdout) } catch { return { batches: [], chunks: [] } }
}

/** The environment of a real user's shell: without tap's loader hooks, which would load into every command. */
export function userEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('TS_NODE') || k.startsWith('_TAPJS') || k.startsWith('TAP')) continue
    env[k] = v
  }
  return { ...env, PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH}`, NO_COLOR: '1', ...extra }
}

/** Runs the real command line through a shell (pipes and all). */
export function sh (script: string, { input = '', env = {}, timeout = 30_000, cwd }: { input?: string, env?: NodeJS.ProcessEnv, timeout?: number, cwd?: string } = {}): Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    // tap's process hooks put its loader back into NODE_OPTIONS; a user's shell has none
    const child = spawn('bash', ['-o', 'pipefail', '-c', `unset NODE_OPTIONS; ${script}`], {
      // a state directory of its own unless the test names one, as for runWords
      env: userEnv({ DSTREAM_STATE_DIR: freshDir(), ...env }),
      cwd,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}
