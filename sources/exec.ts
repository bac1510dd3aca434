// Spark: a custom Receiver (Receiver.onStart/onStop, restart(...)). The receiver
// is a command: its stdout lines are the records, and like a receiver it is
// restarted when it stops, with a backoff instead of Spark's fixed delay.
import { spawn, type ChildProcess } from 'node:child_process'
import { RuntimeError } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { shellQuote } from '../lib/ops/show.js'
import { Backoff, errorCode, formatDelay, MAX_DELAY } from '../lib/core/backoff.js'
import { openIntake } from '../lib/intake/lineIntake.js'
import { feedLines } from '../lib/intake/lines.js'
import { INTERVAL_OPTION, LINE_OPTIONS, WAL_AND_EVENT_TIME_TEXT, type LineSourceOptions } from '../lib/intake/options.js'
import { pause, stopSignal } from '../lib/intake/stop.js'

interface ExecOptions extends LineSourceOptions {
  command: string[]
  restart: 'always' | 'never'
}

/** How long a stopped command has to exit after SIGTERM before it gets SIGKILL. */
const KILL_AFTER = 3000

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  /** the command could not be started (ENOENT, EACCES) */
  error?: Error
  /** how long it ran, ms */
  ran: number
}

const exec: SourceDefinition<ExecOptions> = {
  kind: 'source',
  name: 'exec',
  spark: 'a custom Receiver',
  group: 'sources',
  summary: "a command's stdout lines, restarted when it exits",
  description: `
Runs CMD with ARGS and emits the lines of its stdout as batches of --interval, by
processing time; every interval emits a batch, empty while the command is quiet.
Its stderr goes to ours; its stdin is empty.

When the command exits, or cannot be started, exec says so on stderr with the
status and the wait, keeps emitting empty batches, and starts it again: after
100ms, then twice as long each time up to 5s; the wait goes back to 100ms after
a run that lasted 5s or more:

  dstream exec: tail -F app.log exited with status 1; restarting in 400ms

With --restart never, exec ends when the command exits: the open batch is closed
and exec exits 0 if the command exited 0; otherwise (a non-zero status, a signal,
a command that cannot be started) it exits 1 naming the command and its status.

On SIGINT or SIGTERM the command and the processes it started are sent SIGTERM
(SIGKILL if they still run 3s later); the lines it wrote before exiting go into the open batch, which is then
closed, and exec exits 0.` + WAL_AND_EVENT_TIME_TEXT,
  positionals: [{ name: 'CMD', key: 'command', describe: 'the command and its arguments, after --', variadic: true }],
  options: {
    ...INTERVAL_OPTION,
    ...LINE_OPTIONS,
    restart: { choices: ['always', 'never'], default: 'always', describe: 'start the command again when it exits, or end with it' }
  },
  examples: [
    { command: 'exec -- tail -F /var/log/syslog | dstream print', describe: 'the lines of a log, through a command that is restarted if it dies' },
    { command: "exec --restart never -- sh -c 'cat *.log' | dstream count", describe: 'the output of a command that ends, then end' },
    { command: 'exec --json -- kubectl get events --watch -o json', describe: "a JSON-lines feed of another program's" }
  ],
  async start (opts, ctx, io) {
    const [cmd, ...args] = opts.command
    const shown = shellQuote(opts.command)
    const label = shown.length > 80 ? shown.slice(0, 79) + '…' : shown
    const intake = await openIntake(opts, exec, ctx, io)
    const { stopped, stop } = stopSignal()
    let halted = false
    let child: ChildProcess | undefined
    const backoff = new Backoff()

    const runOnce = async (): Promise<Run> => {
      const started = Date.now()
      // its own process group, so that stopping it stops what it started too
      const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      child = proc
      let error: Error | undefined
      proc.on('error', err => { error = err })
      // if this process exits first (a closed pipe downstream), the command goes too
      const orphaned = () => signalGroup(proc, 'SIGTERM')
      process.once('exit', orphaned)
      const closed = new Promise<[number | null, NodeJS.Signals | null]>(resolve => proc.on('close', (code, signal) => {
        process.off('exit', orphaned)
        resolve([code, signal])
      }))
      proc.stderr!.setEncoding('utf8')
      proc.stderr!.on('data', (text: string) => ctx.stderr(text))
      try {
        await feedLines(proc.stdout!, intake)
      } catch (err) {
        signalGroup(proc, 'SIGKILL')
        throw err
      }
      const [code, signal] = await closed
      child = undefined
      return { code, signal, error, ran: Date.now() - started }
    }

    const supervise = async () => {
      while (!halted) {
        const run = await runOnce()
        if (halted) break
        const status = run.error
          ? `cannot start ${label} (${errorCode(run.error)})`
          : run.signal ? `${label} was killed by ${run.signal}` : `${label} exited with status ${run.code}`
        if (opts.restart === 'never') {
          if (run.error || run.code !== 0) throw new RuntimeError(`dstream exec: ${status}`)
          break
        }
        if (run.ran >= MAX_DELAY) backoff.reset()
        const delay = backoff.next()
        ctx.stderr(`dstream exec: ${status}; restarting in ${formatDelay(delay)}\n`)
        await pause(delay, stopped)
      }
    }

    const done = supervise().finally(() => intake.close())
    return {
      done,
      stop () {
        halted = true
        stop()
        const proc = child
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
        signalGroup(proc, 'SIGTERM')
        const timer = setTimeout(() => signalGroup(proc, 'SIGKILL'), KILL_AFTER)
        proc.on('close', () => clearTimeout(timer))
      }
    }
  }
}

/** Signals the command and the processes it started (its process group). */
function signalGroup (proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return
  try {
    process.kill(-proc.pid, signal)
  } catch {
    // already gone
  }
}

export default exec
