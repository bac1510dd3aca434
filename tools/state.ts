// Spark: the checkpoint directory, looked at by hand. `dstream state` lists, shows
// and resets the checkpoints of a state directory (SPEC §3).
import fs from 'node:fs'
import path from 'node:path'
import { usage } from '../lib/cli.js'
import { RuntimeError } from '../lib/errors.js'
import type { Saved } from '../lib/checkpoint.js'
import type { ToolDefinition } from '../lib/types.js'

interface StateOptions { action: string, target?: string }

const ACTIONS = ['ls', 'show', 'reset']

const state: ToolDefinition<StateOptions> = {
  kind: 'tool',
  name: 'state',
  spark: 'the checkpoint directory',
  group: 'tools',
  summary: 'list, show or reset the checkpoints of a state directory',
  description: `
Every stateful operator (windows, update-state-by-key, map-with-state, ...) keeps
its state in DIR/NAME/checkpoint.json, where DIR is --state-dir, else
$DSTREAM_STATE_DIR, else ./.dstream, and NAME is the operator's --name or its name
and a hash of its arguments.

  ls          one line per checkpoint: NAME, operator, last batch, size, definition
  show NAME   the checkpoint as JSON (pipe it to jq)
  reset NAME  delete NAME's state, so the operator starts afresh next time

A checkpoint written by another definition of an operator is refused when the
operator starts; reset it, or give the operator another --name.`,
  positionals: [
    { name: 'ls|show|reset', key: 'action', describe: 'what to do' },
    { name: 'NAME', key: 'target', describe: 'the checkpoint, for show and reset', optional: true }
  ],
  options: {},
  examples: [
    { command: 'state ls', describe: 'the checkpoints under ./.dstream' },
    { command: 'state show update-state-by-key-1a2b3c4d --state-dir /var/lib/wc | jq .state', describe: "one operator's state" },
    { command: 'state reset wordcount', describe: 'start the operator named wordcount afresh' }
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
    const file = path.join(dir, 'checkpoint.json')
    if (opts.target.includes('/') || opts.target.startsWith('.') || !fs.existsSync(dir)) {
      throw new RuntimeError(`dstream state: no state named '${opts.target}' in ${opts.stateDir} ('dstream state ls' lists them)`)
    }
    if (opts.action === 'show') {
      io.stdout(JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8')), null, 2) + '\n')
      return 0
    }
    fs.rmSync(dir, { recursive: true, force: true })
    io.stderr(`dstream state: removed ${dir}\n`)
    return 0
  }
}

function list (stateDir: string): string[] {
  if (!fs.existsSync(stateDir)) return []
  const lines: string[] = []
  for (const name of fs.readdirSync(stateDir).sort()) {
    const file = path.join(stateDir, name, 'checkpoint.json')
    if (!fs.existsSync(file)) continue
    const size = fs.statSync(file).size
    let saved: Saved | undefined
    try { saved = JSON.parse(fs.readFileSync(file, 'utf8')) } catch { /* shown as corrupt */ }
    lines.push(saved
      ? `${name}\t${saved.operator}\tbatch ${saved.time}\t${size} bytes\t${JSON.stringify(saved.definition)}`
      : `${name}\t(corrupt)\t\t${size} bytes`)
  }
  return lines
}

export default state
