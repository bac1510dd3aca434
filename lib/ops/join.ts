// What the five joins share (Spark: PairDStreamFunctions.join, leftOuterJoin,
// rightOuterJoin, fullOuterJoin, cogroup, and transform + RDD.join for a static
// dataset): the options, the check that exactly one right side is given, the
// grouping of both sides by key, and the loop over keys in first-seen order (the
// batch's keys first, then the right side's). An operator file gives only its shape:
// what one key's values on each side become.
import { Dataset } from './dataset.js'
import { parseDuration } from '../core/durations.js'
import { BadInputError, UsageError, usage } from '../core/errors.js'
import { isPair, keyOf } from '../core/keys.js'
import type { OptionSpec } from '../core/types.js'
import type { Context, Instance, OperatorDefinition } from '../core/types.js'

export interface JoinOptions { with?: string, static?: string, maxWait?: string }

export const JOIN_OPTIONS: Record<string, OptionSpec> = {
  with: { type: 'string', meta: 'STREAM', describe: 'the right side: a stream of [k, w] batches (a file, a FIFO, or <(...)), paired with the input by batch time' },
  static: { type: 'string', meta: 'FILE', describe: 'the right side: a dataset of [k, w] pairs (a JSON array, or NDJSON), read again when the file changes' },
  'max-wait': { type: 'string', meta: 'DUR', describe: 'with --with: how long to wait for a side that is behind before taking its batch as empty (default: as long as it takes)' }
}

/** What the joins' descriptions say alike, after each one's first paragraph. */
export const JOIN_DESCRIPTION = `
The right side is exactly one of:

  --with STREAM  a second stream of [k, w] batches: a file of batches, a FIFO, or a
                 process substitution <(...). Batches pair by time, as union's do:
                 a stream with no batch at a time (it started later, or has ended)
                 is empty then. The two streams must have the same interval (else
                 exit 65). When one side is behind, the join waits for it; with
                 --max-wait DUR it waits at most DUR, then takes that side's batch
                 as empty and says so on stderr (the batch, if it comes later, is
                 dropped, and said so too).
  --static FILE  a dataset of [k, w] pairs, Spark's RDD joined in transform: a JSON
                 array, or NDJSON (one pair a line). Before every batch the file's
                 size and time are checked and a changed file is read again, so
                 editing it takes effect at the next batch. A file that has gone or
                 does not parse after a change leaves the version read before in
                 use, said once on stderr.

Records on either side must be [key, value] pairs; any other record is bad input
(exit 65, or set aside with --on-bad-input skip). Keys compare by value (array and
object keys work). Keys leave in the order first seen: the batch's keys first, then
those only on the right side; for each key, pairs leave in the order of the values.`

interface Group { key: unknown, left: unknown[], right: unknown[] }

/** What one key becomes: push output records onto out. `left`/`right` may be empty. */
export type Shape = (key: unknown, left: unknown[], right: unknown[], out: unknown[]) => void

/**
 * A join's init: `keys` says which keys can give output ('left': only the batch's,
 * so a big --static dataset is not walked every batch; 'either': both sides).
 */
export function startJoin (def: OperatorDefinition<JoinOptions>, opts: JoinOptions, ctx: Context, keys: 'left' | 'either', shape: Shape): Instance {
  if (opts.with === undefined && opts.static === undefined) throw usage(def, 'needs --with STREAM or --static FILE')
  if (opts.with !== undefined && opts.static !== undefined) throw usage(def, 'takes --with STREAM or --static FILE, not both')
  if (opts.with === '') throw usage(def, '--with needs a STREAM')
  if (opts.maxWait !== undefined && opts.with === undefined) throw usage(def, '--max-wait goes with --with STREAM')
  const fixed = opts.static === undefined ? undefined : staticSide(def, opts.static, ctx)
  return {
    maxWait: maxWaitOf(def, opts.maxWait),
    onBatch (records, _batch, others) {
      const left = new Map<string, Group>()
      add(left, records, 'left', ctx, 'the input')
      const right = fixed ? fixed() : groupRight(others?.[0] ?? [], ctx)
      const out: unknown[] = []
      for (const [id, g] of left) shape(g.key, g.left, right.get(id)?.right ?? [], out)
      if (keys === 'either') {
        for (const [id, g] of right) if (!left.has(id)) shape(g.key, [], g.right, out)
      }
      return out
    }
  }
}

function maxWaitOf (def: OperatorDefinition, text: string | undefined): number | undefined {
  try {
    return text === undefined ? undefined : parseDuration(text, '--max-wait')
  } catch (err) {
    throw err instanceof UsageError ? usage(def, err.message) : err
  }
}

function groupRight (records: unknown[], ctx: Context): Map<string, Group> {
  const groups = new Map<string, Group>()
  add(groups, records, 'right', ctx, 'the --with stream')
  return groups
}

function add (groups: Map<string, Group>, records: unknown[], side: 'left' | 'right', ctx: Context, from: string): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (!isPair(record)) { ctx.badRecord(record, `expected a [key, value] pair from ${from}`); continue }
    const id = keyOf(record[0])
    let g = groups.get(id)
    if (g === undefined) groups.set(id, (g = { key: record[0], left: [], right: [] }))
    g[side].push(record[1])
  }
}

/** The --static dataset, grouped by key once per version of the file. */
function staticSide (def: OperatorDefinition, file: string, ctx: Context): () => Map<string, Group> {
  let data: Dataset
  try {
    data = new Dataset(file, reason => ctx.stderr(`dstream ${ctx.name}: batch ${ctx.batch?.time}: --static: ${reason}\n`))
  } catch (err) {
    if (err instanceof UsageError) throw usage(def, `--static ${err.message}`)
    if (err instanceof BadInputError) err.message = `dstream ${def.name}: --static ${err.message}`
    throw err
  }
  let seen: unknown[] | undefined
  let grouped = new Map<string, Group>()
  return () => {
    const records = data.current()
    if (records !== seen) {
      seen = records
      grouped = new Map()
      add(grouped, records, 'right', ctx, `--static ${file}`)
    }
    return grouped
  }
}
