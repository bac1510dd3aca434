// Spark: DStream.foreachRDD. The function is a command, run once per batch with the
// batch's records on its stdin. Differences: a failing run is retried (--retries),
// so the command may see a batch more than once and should be idempotent, as a
// foreachRDD writer must be in Spark too. Whole batches: a retry needs the records.
import { spawn } from 'node:child_process'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { formatDuration, parseDuration } from '../lib/core/durations.js'
import { RuntimeError, usage } from '../lib/core/errors.js'
import { plainText, shellQuote } from '../lib/ops/show.js'
import type { BatchInfo, Context, OperatorDefinition } from '../lib/core/types.js'

interface ForeachOptions { command: string[], text: boolean, retries: number, backoff: string, skipEmpty: boolean, pass: boolean }

const foreach: OperatorDefinition<ForeachOptions> = {
  kind: 'operator',
  name: 'foreach',
  spark: 'foreachRDD',
  group: 'outputs',
  summary: 'runs a command once per batch, the records on its stdin',
  description: `
Runs CMD with ARGS once for every batch, one batch at a time and in order. The
batch's records go to its stdin, one JSON value a line (with --text, strings bare
and other values as JSON). The environment holds DSTREAM_BATCH_TIME and
DSTREAM_BATCH_INTERVAL (ms). The command's stdout goes to foreach's stdout, its
stderr to foreach's stderr. Empty batches run the command too, unless --skip-empty.

A command that exits non-zero (or is killed) is run again on the same batch, up to
--retries times, waiting --backoff, then twice as long each time; every failure is
said on stderr. When the last try fails, foreach stops with exit 1. A retried
command sees the batch again, so it should be idempotent (key its writes on
DSTREAM_BATCH_TIME), as a foreachRDD writer must be in Spark. The batch is held in
memory for the retries.

Writes only the command's output on stdout, unless --pass: then the batches go on
unchanged on stdout and the command's stdout goes to stderr.`,
  positionals: [{ name: 'CMD', key: 'command', describe: 'the command and its arguments, after --', variadic: true }],
  options: {
    text: { type: 'boolean', default: false, describe: 'write string records bare, not as JSON strings' },
    retries: { type: 'number', default: 3, describe: 'how many times a failing command is run again on the same batch' },
    backoff: { type: 'string', default: '100ms', meta: 'DUR', describe: 'the wait before the first retry, doubled for each next one' },
    'skip-empty': { type: 'boolean', default: false, describe: 'do not run the command for an empty batch' },
    pass: { type: 'boolean', default: false, describe: "forward the batches on stdout; the command's stdout goes to stderr" }
  },
  examples: [
    { command: 'foreach -- sh -c \'wc -l > "out/$DSTREAM_BATCH_TIME.count"\'', describe: 'the number of records of every batch, in one file per batch' },
    { command: "foreach --text --skip-empty -- mail -s 'new errors' ops@example.com", describe: 'mail the lines of every batch that has any' },
    { command: "foreach --pass -- curl -s --data-binary @- http://localhost:8080/ingest", describe: 'post every batch, and the stream goes on' }
  ],
  input: 'batches',
  sink: true,
  init (opts, ctx) {
    if (!Number.isInteger(opts.retries) || opts.retries < 0) throw usage(foreach, `--retries must be a whole number, got ${opts.retries}`)
    const backoff = parseDuration(opts.backoff, '--backoff')
    const shown = shellQuote(opts.command)
    return {
      passes: opts.pass,
      async onBatch (records, batch) {
        if (records.length === 0 && opts.skipEmpty) return opts.pass ? records : undefined
        for (let attempt = 0; ; attempt++) {
          const status = await runOnce(opts, ctx, records, batch)
          if (status === 0) break
          if (attempt === opts.retries) {
            throw new RuntimeError(`dstream ${ctx.name}: batch ${batch.time}: command failed ${attempt + 1} time${attempt ? 's' : ''}: ${shown}: ${describe(status)}`)
          }
          const wait = backoff * 2 ** attempt
          ctx.stderr(`dstream ${ctx.name}: batch ${batch.time}: ${shown}: ${describe(status)}; retry ${attempt + 1} of ${opts.retries} in ${formatDuration(wait)}\n`)
          await sleep(wait)
        }
        return opts.pass ? records : undefined
      }
    }
  }
}

function describe (status: number | NodeJS.Signals): string {
  return typeof status === 'number' ? `exit status ${status}` : `killed by ${status}`
}

/** One run of the command on one batch: its exit status, or the signal that killed it. */
async function runOnce (opts: ForeachOptions, ctx: Context, records: unknown[], batch: BatchInfo): Promise<number | NodeJS.Signals> {
  const [cmd, ...args] = opts.command
  const child = spawn(cmd, args, {
    env: { ...process.env, DSTREAM_BATCH_TIME: String(batch.time), DSTREAM_BATCH_INTERVAL: String(batch.interval) },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const exited = new Promise<number | NodeJS.Signals>((resolve, reject) => {
    child.on('error', err => reject(new RuntimeError(`dstream ${ctx.name}: batch ${batch.time}: cannot run ${cmd}: ${err.message}`)))
    child.on('close', (code, signal) => resolve(code ?? signal!))
  })
  const out: (text: string) => void | Promise<void> = opts.pass ? ctx.stderr : ctx.stdout
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const wait = out(text)
    if (wait) {
      child.stdout.pause()
      wait.then(() => child.stdout.resume())
    }
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => ctx.stderr(text))
  // a command that does not read its stdin (or stops early) is not an error of ours
  const fed = pipeline(Readable.from(lines(records, opts.text)), child.stdin).catch(() => {})
  const [status] = await Promise.all([exited, fed])
  return status
}

/** The records as text, in pieces of about 64 KiB, so a big batch is not one big string. */
function * lines (records: unknown[], text: boolean): Generator<string> {
  let piece = ''
  for (const record of records) {
    piece += (text ? plainText(record) : JSON.stringify(record)) + '\n'
    if (piece.length >= 65536) {
      yield piece
      piece = ''
    }
  }
  if (piece) yield piece
}

export default foreach
