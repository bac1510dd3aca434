// Spark: the checkpoint directory, looked at by hand. `dstream state` lists, shows
// and resets the members of a state directory (SPEC §3): each one's meta.json says
// its role, and the role says which file holds what (lib/durability/component.ts).
import fs from 'node:fs'
import path from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { RuntimeError, usage } from '../lib/core/errors.js'
import { versionsIn } from '../lib/durability/checkpoint.js'
import { committedIn } from '../lib/durability/commit.js'
import { readMeta } from '../lib/durability/component.js'
import type { Meta } from '../lib/durability/component.js'
import { membersOf, restartPoint } from '../lib/durability/pipeline.js'
import type { ToolDefinition } from '../lib/core/types.js'

interface StateOptions { action: string, target?: string }

const ACTIONS = ['ls', 'show', 'reset']

const state: ToolDefinition<StateOptions> = {
  kind: 'tool',
  name: 'state',
  spark: 'the checkpoint directory',
  group: 'tools',
  summary: 'list, show or reset the checkpoints of a state directory',
  description: `
A pipeline keeps what it needs to restart in its state directory DIR (--state-dir,
else $DSTREAM_STATE_DIR, else ./.dstream): one directory DIR/NAME/ per member, where
NAME is the member's --name or its operator and a hash of its arguments. Its
meta.json says what wrote it (operator, role, definition); the role says what the
other files hold:

  source  log.ndjson: where each batch was read from, and the batches emitted
  state   checkpoint-TIME.json: its state after batch TIME, the last few kept
  sink    commit.json: the last batch it has written for good

The restart point is the latest batch that every sink has committed and every
stateful operator holds a version of: on restart the stateful operators roll back to
it and the sources replay the batches logged after it.

  ls          one line per member: NAME, operator, role, what it holds, size,
              definition; then the restart point
  show NAME   NAME as JSON (pipe it to jq): a state's latest version, a sink's
              commit, a source's log summed up (batches, first, last, reads)
  reset NAME  delete DIR/NAME, so that member starts afresh next time

A directory written by another definition is refused when its operator starts;
reset it, or give the operator another --name.`,
  positionals: [
    { name: 'ls|show|reset', key: 'action', describe: 'what to do' },
    { name: 'NAME', key: 'target', describe: 'the member, for show and reset', optional: true }
  ],
  options: {},
  examples: [
    { command: 'state ls', describe: 'the members of ./.dstream and the restart point' },
    { command: 'state show update-state-by-key-1a2b3c4d --state-dir /var/lib/wc | jq .state', describe: "one operator's latest state" },
    { command: 'state reset wordcount', describe: 'start the member named wordcount afresh' }
  ],
  run (opts, io) {
    if (!ACTIONS.includes(opts.action)) throw usage(state, `unknown action '${opts.action}': expected ls, show or reset`)
    if (opts.action === 'ls') {
      if (opts.target) throw usage(state, 'ls takes no NAME')
      for (const line of list(opts.stateDir)) io.stdout(line + '\n')
      return 0
    }
    if (!opts.target) throw usage(state, `${opts.action} needs a NAME ('dstream state ls' lists them)`)
    const dir = path.join(opts.stateDir, opts.target)
    const meta = opts.target.includes('/') || opts.target.startsWith('.') ? undefined : memberAt(dir)
    if (meta === undefined) {
      throw new RuntimeError(`dstream state: no state named '${opts.target}' in ${opts.stateDir} ('dstream state ls' lists them)`)
    }
    if (opts.action === 'show') {
      if (meta === 'corrupt') throw new RuntimeError(`dstream state: ${path.join(dir, 'meta.json')} is missing or corrupt: look at the files in ${dir}, or reset it`)
      io.stdout(JSON.stringify(shown(opts.target, dir, meta), null, 2) + '\n')
      return 0
    }
    fs.rmSync(dir, { recursive: true, force: true })
    io.stderr(`dstream state: removed ${dir}\n`)
    return 0
  }
}

/**
 * What DIR/NAME is: a member's meta; 'corrupt' when its meta.json is unreadable, or
 * missing though the directory holds a member's files; undefined when it is no member.
 */
function memberAt (dir: string): Meta | 'corrupt' | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return undefined
  } catch {
    return undefined
  }
  const meta = readMeta(dir)
  if (meta !== undefined) return meta
  const files = fs.readdirSync(dir)
  // checkpoint.json: the single checkpoint of the layout before versions
  const held = files.some(f => /^checkpoint(-.+)?\.json$/.test(f) || f === 'commit.json' || f === 'log.ndjson')
  return held ? 'corrupt' : undefined
}

function list (stateDir: string): string[] {
  let names: string[]
  try {
    names = fs.readdirSync(stateDir)
  } catch {
    return []
  }
  const lines: string[] = []
  let members = 0
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue
    const dir = path.join(stateDir, name)
    const meta = memberAt(dir)
    if (meta === undefined) continue
    if (meta === 'corrupt') { lines.push(`${name}\t(corrupt)`); continue }
    members++
    lines.push(`${name}\t${meta.operator}\t${meta.role}\t${holding(dir, meta)}\t${sizeOf(dir)} bytes\t${JSON.stringify(meta.definition)}`)
  }
  if (members > 0) lines.push(`restart point: ${describePoint(restartPoint(membersOf(stateDir)))}`)
  return lines
}

/** What a member holds, in a few words for ls. */
function holding (dir: string, meta: Meta): string {
  if (meta.role === 'state') {
    const versions = versionsIn(dir)
    if (versions.length === 0) return 'no version yet'
    return `batch ${versions[versions.length - 1]} (${versions.length} ${versions.length === 1 ? 'version' : 'versions'})`
  }
  if (meta.role === 'sink') {
    const committed = committedIn(dir)
    if (committed === 'corrupt') return 'commit.json corrupt'
    return committed === null ? 'committed nothing yet' : `committed ${committed}`
  }
  const { last } = readLog(dir)
  return last === null ? 'nothing logged yet' : `logged up to batch ${last}`
}

function describePoint (point: number): string {
  if (point === -Infinity) return 'replay everything logged'
  if (point === Infinity) return 'none (nothing to replay)'
  return `after batch ${point}`
}

/** The bytes of the files directly in a member's directory. */
function sizeOf (dir: string): number {
  let size = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue
    try {
      size += fs.statSync(path.join(dir, entry.name)).size
    } catch { /* removed meanwhile */ }
  }
  return size
}

/** What show prints for a member. */
function shown (name: string, dir: string, meta: Meta): unknown {
  if (meta.role === 'state') {
    const versions = versionsIn(dir)
    if (versions.length === 0) throw new RuntimeError(`dstream state: ${name} holds no version of its state yet`)
    return readJson(path.join(dir, `checkpoint-${versions[versions.length - 1]}.json`))
  }
  if (meta.role === 'sink') {
    const file = path.join(dir, 'commit.json')
    return fs.existsSync(file) ? readJson(file) : { operator: meta.operator, definition: meta.definition, committed: null }
  }
  return { operator: meta.operator, definition: meta.definition, ...readLog(dir) }
}

function readJson (file: string): unknown {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new RuntimeError(`dstream state: cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new RuntimeError(`dstream state: ${file} is corrupt (not JSON)`)
  }
}

interface LogSummary { batches: number, first: number | null, last: number | null, reads: number }

/**
 * A source's log.ndjson summed up, read in pieces (it grows with the stream). Lines
 * that do not parse, such as the last one while the source is appending it, are skipped.
 */
function readLog (dir: string): LogSummary {
  const summary: LogSummary = { batches: 0, first: null, last: null, reads: 0 }
  let fd: number
  try {
    fd = fs.openSync(path.join(dir, 'log.ndjson'), 'r')
  } catch {
    return summary
  }
  const take = (line: string): void => {
    let entry: any
    try {
      entry = JSON.parse(line)
    } catch {
      return
    }
    if (typeof entry !== 'object' || entry === null) return
    if (typeof entry.batch === 'number') {
      summary.batches++
      summary.first ??= entry.batch
      summary.last = entry.batch
    } else if (typeof entry.read === 'number') {
      summary.reads++
    }
  }
  try {
    const buffer = Buffer.alloc(1 << 16)
    const decoder = new StringDecoder('utf8')
    let rest = ''
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      const lines = (rest + decoder.write(buffer.subarray(0, n))).split('\n')
      rest = lines.pop()!
      for (const line of lines) take(line)
    }
    take(rest)
  } finally {
    fs.closeSync(fd)
  }
  return summary
}

export default state
