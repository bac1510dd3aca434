// What the source tests share: a real `dstream` process that runs until told to
// stop, watched while it runs, and TCP servers and clients on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { DSTREAM, parseOutput, userEnv } from '../helpers.js'
import type { Chunk } from '../../lib/core/types.js'

export interface Live {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** resolves with the match once `pattern` shows on the stream; rejects after `ms` */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', ms?: number): Promise<RegExpMatchArray>
  /** whether the process is still running */
  running: () => boolean
  /** sends `signal` (SIGTERM by default) and resolves with the exit code and the output */
  stop(signal?: NodeJS.Signals): Promise<Exited>
  /** resolves when it exits by itself */
  exited: Promise<Exited>
}

export interface Exited {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  batches: Chunk[]
  chunks: Chunk[]
  /** every record of every batch, in order */
  records: unknown[]
}

export function live (args: string[], { stdin = 'ignore' }: { stdin?: 'ignore' | 'pipe' } = {}): Live {
  // through bash, as sh() does: tap's process hooks put its loader back into NODE_OPTIONS
  const child = spawn('bash', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', DSTREAM, ...args], { env: userEnv(), stdio: [stdin, 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  const check = () => { for (const w of waiters) w() }
  child.stdout!.on('data', d => { stdout += d; check() })
  child.stderr!.on('data', d => { stderr += d; check() })
  let done = false
  const exited = new Promise<Exited>(resolve => child.on('close', (code, signal) => {
    done = true
    check()
    const parsed = parseOutput(stdout)
    resolve({ code, signal, stdout, stderr, ...parsed, records: parsed.batches.flatMap(b => b.records) })
  }))
  // a test that fails half-way must not leave the process behind
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  exited.then(() => clearTimeout(timer))
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    running: () => !done,
    exited,
    waitFor (pattern, stream = 'stderr', ms = 8000) {
      return new Promise((resolve, reject) => {
        const timeout = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no ${pattern} on ${stream} after ${ms}ms; stderr: ${stderr}`)) }, ms)
        const waiter = () => {
          const match = (stream === 'stdout' ? stdout : stderr).match(pattern)
          if (match) { clearTimeout(timeout); waiters.delete(waiter); resolve(match) }
          else if (done) { clearTimeout(timeout); waiters.delete(waiter); reject(new Error(`exited without ${pattern} on ${stream}; stderr: ${stderr}`)) }
        }
        waiters.add(waiter)
        waiter()
      })
    },
    stop (signal = 'SIGTERM') {
      if (!done) child.kill(signal)
      return exited
    }
  }
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** A server on 127.0.0.1 and a free port of its own. */
export function server (onConnection: (socket: net.Socket) => void, port = 0): Promise<net.Server & { port: number }> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer(onConnection)
    srv.once('error', reject)
    srv.listen(port, '127.0.0.1', () => resolve(Object.assign(srv, { port: (srv.address() as net.AddressInfo).port })))
  })
}

export function closeServer (srv: net.Server): Promise<void> {
  return new Promise(resolve => srv.close(() => resolve()))
}

/** A port that was free a moment ago (nothing listens on it). */
export async function freePort (): Promise<number> {
  const srv = await server(() => {})
  await closeServer(srv)
  return srv.port
}

export function connect (port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Writes and waits a moment, so that the next write arrives in a TCP packet of its own. */
export async function send (socket: net.Socket, text: string, ms = 50): Promise<void> {
  await new Promise<void>(resolve => socket.write(text, () => resolve()))
  await sleep(ms)
}

/** Batch times: aligned to the interval, and one interval apart (every interval a batch). */
export function consecutive (batches: Chunk[], interval: number): boolean {
  return batches.every((b, i) => b.interval === interval && b.time % interval === 0 && (i === 0 || b.time - batches[i - 1].time === interval))
}
