// The `dstream` command: the operator list, one operator, or a fused `then` chain.
// bin/dstream and every bin/dstream-OP shim end up here.
import { parseArgs, wantsHelp } from './args.js'
import { DstreamError, EXIT_USAGE, UsageError } from '../core/errors.js'
import { renderHelp, renderList, VERSION } from './help.js'
import { completionScript } from './completion.js'
import { definitionOf, moduleOf } from './modules.js'
import { run, type StageSpec } from '../engine/runner.js'
import type { ToolDefinition, ToolIO } from '../core/types.js'

/** Splits `OP ARGS then OP ARGS` into one word list per operator (a `then` after `--` is an argument). */
export function splitChain (words: string[]): string[][] {
  const chain: string[][] = [[]]
  let literal = false
  for (const word of words) {
    if (word === '--') literal = true
    if (word === 'then' && !literal) { chain.push([]); continue }
    chain[chain.length - 1].push(word)
  }
  return chain
}

export async function parseChain (words: string[], env: NodeJS.ProcessEnv = process.env): Promise<StageSpec[]> {
  const segments = splitChain(words)
  const specs: StageSpec[] = []
  for (const [i, segment] of segments.entries()) {
    const [name, ...args] = segment
    if (!name) throw new UsageError("dstream: 'then' needs an operator on both sides")
    const def = await definitionOf(name)
    if (!def) throw new UsageError(`dstream: unknown operator '${name}' (run 'dstream' for the list)`)
    if (def.kind === 'source' && i > 0) throw new UsageError(`dstream: ${name} is a source; it can only start a chain`)
    if (def.kind === 'tool' && segments.length > 1) throw new UsageError(`dstream: ${name} is a tool, not an operator; it cannot be chained`)
    specs.push({ def, opts: parseArgs(def, args, env), module: moduleOf(name) })
  }
  return specs
}

export async function main (words: string[]): Promise<number> {
  const out = (text: string) => { process.stdout.write(text) }
  // the list of every command is loaded only for what lists them
  const every = async () => (await import('./registry.js')).registry
  if (words.length === 0 || words[0] === '--help' || words[0] === '-h') { out(renderList(await every())); return 0 }
  if (words[0] === '--version') { out(`dstream ${VERSION}\n`); return 0 }
  if (words[0] === 'completion') { out(completionScript(await every())); return 0 }
  if (wantsHelp(words) && splitChain(words).length === 1) {
    const def = await definitionOf(words[0])
    if (def) { out(renderHelp(def)); return 0 }
  }
  let specs: StageSpec[]
  try {
    specs = await parseChain(words)
  } catch (err) {
    process.stderr.write((err as Error).message + '\n')
    return err instanceof DstreamError ? err.exitCode : EXIT_USAGE
  }
  const [first] = specs
  if (first.def.kind === 'tool') return runTool(first.def, first.opts)
  return run(specs, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, onStop: onSignals })
}

async function runTool (def: ToolDefinition, opts: StageSpec['opts']): Promise<number> {
  const tty = process.stdout.isTTY === true && process.stdin.isTTY === true
  const io: ToolIO = {
    stdout: text => { process.stdout.write(text) },
    stderr: text => { process.stderr.write(text) },
    colour: process.stdout.isTTY === true && !('NO_COLOR' in process.env),
    terminal: tty ? { columns: process.stdout.columns, rows: process.stdout.rows, keys: rawKeys } : undefined,
    onStop (stop) {
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    }
  }
  try {
    return await def.run(opts, io)
  } catch (err) {
    process.stderr.write((err as Error).message + '\n')
    return err instanceof DstreamError ? err.exitCode : 1
  }
}

/** The keys typed on the terminal, one by one (raw mode, no echo), until the returned function restores it. */
function rawKeys (listener: (key: string) => void): () => void {
  const onData = (data: Buffer) => listener(data.toString())
  process.stdin.setRawMode(true)
  process.stdin.on('data', onData)
  process.stdin.resume()
  return () => {
    process.stdin.off('data', onData)
    process.stdin.setRawMode(false)
    process.stdin.pause()
  }
}

/** Ctrl-C: the source closes its batch and the rest drains (SPEC §4); a second one stops at once. */
function onSignals (stop: () => void): void {
  let seen = 0
  const handler = (signal: NodeJS.Signals) => {
    if (++seen > 1) process.exit(signal === 'SIGINT' ? 130 : 143)
    stop()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

/** A closed pipe downstream (`| head`) ends this command quietly (SPEC §4). */
function quietOnClosedPipe (stream: NodeJS.WritableStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}

export async function entry (words: string[]): Promise<void> {
  quietOnClosedPipe(process.stdout)
  quietOnClosedPipe(process.stderr)
  const code = await main(words)
  // stdout may be a non-blocking socket (a child of node) with writes queued: let them drain
  await Promise.all([process.stdout, process.stderr].map(s => new Promise(resolve => s.write('', resolve))))
  process.exit(code)
}
