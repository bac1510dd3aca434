// The options every operator takes (SPEC §2, §3, §4), declared once.
import type { OptionSpec } from '../core/types.js'

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  'state-dir': { type: 'string', meta: 'DIR', describe: "the pipeline's state directory (default: $DSTREAM_STATE_DIR, else ./.dstream)" },
  name: { type: 'string', meta: 'NAME', describe: "the name of this operator's state in the state directory (default: the operator and a hash of its arguments)" },
  require: { alias: 'r', type: 'string', meta: 'FILE', describe: 'load a module whose exports are in scope of every function (repeatable)' },
  'on-error': { choices: ['fail', 'skip'], default: 'fail', describe: 'when a function throws: stop with exit 65, or set the record aside in the dead-letter file and go on' },
  'on-bad-input': { choices: ['fail', 'skip'], default: 'fail', describe: 'when a line is not a batch or a record has the wrong shape: stop with exit 65, or set it aside and go on' },
  'dead-letter': { type: 'string', meta: 'FILE', describe: 'where set-aside input goes (default: DIR/dead-letter.ndjson)' },
  'checkpoint-every': { type: 'number', meta: 'N', describe: 'stateful operators: checkpoint the state to DIR/NAME/ after every N batches (default: 1)' }
}

/** The common options a command takes: a tool (`state`) only needs to know the state directory. */
export function commonOptions (def: { kind: string }): Record<string, OptionSpec> {
  return def.kind === 'tool' ? { 'state-dir': COMMON_OPTIONS['state-dir'] } : COMMON_OPTIONS
}

export function metaOf (key: string, spec: OptionSpec): string {
  if (spec.meta) return spec.meta
  if (spec.type === 'boolean') return ''
  if (spec.choices) return (spec.choices as unknown[]).join('|')
  if (spec.type === 'number') return 'N'
  return key.toUpperCase()
}
