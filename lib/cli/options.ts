// The options every operator takes (SPEC §2, §3, §4), declared once.
import type { Options as YargsOption } from 'yargs'

/**
 * A yargs option plus the word shown for its value in --help and the man page, and
 * `runOnly` for options that say how this run goes (--once, --from) rather than what
 * the operator computes: they are left out of the definition its state is kept under.
 */
export type OptionSpec = YargsOption & { meta?: string, runOnly?: boolean }

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

/** Spark's numPartitions on the shuffling operators: accepted so Spark habits work, and ignored. */
export const PARTITIONS_OPTION: Record<string, OptionSpec> = {
  partitions: { type: 'number', describe: "Spark's numPartitions; accepted for compatibility and ignored: each operator is one process until parallel workers exist" }
}
