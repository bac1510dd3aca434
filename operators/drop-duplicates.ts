// Structured Streaming: Dataset.dropDuplicates (with a watermark: --within). There is
// no DStream counterpart. The key is FN(record) instead of a list of columns; the
// horizon counts in batch time from the batch a key was kept in, not by event time.
import { parseDuration } from '../lib/core/durations.js'
import { UsageError, excerpt, usage } from '../lib/core/errors.js'
import { compileFunction } from '../lib/core/functions.js'
import { keyOf } from '../lib/core/keys.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface DropDuplicatesOptions { fn?: string, within?: string }

const dropDuplicates: OperatorDefinition<DropDuplicatesOptions> = {
  kind: 'operator',
  name: 'drop-duplicates',
  spark: 'dropDuplicates (Structured Streaming)',
  group: 'state',
  summary: 'records whose key (FN, default the record) was not seen before, or not within --within DUR',
  description: `
Emits each record whose key has not been seen before and drops the others, repeats
inside one batch included; the first record of a key is the one kept. The key is
FN(record), or the whole record without FN; keys compare by value, so FN may return
an array or an object ('r => [r.user, r.page]').

Without --within the keys seen are remembered for ever (the state grows with the
number of distinct keys). With --within DUR a key is remembered for DUR from the
time of the batch that kept it: a record of that key in a batch less than DUR later
is dropped; later it is kept again, and remembered anew. Dropped repeats do not
extend the horizon. Keys past their horizon are forgotten.

The keys seen (and when) are checkpointed in the state directory after each batch,
and restored when the command starts again with the same --state-dir and --name.
When FN throws, the command stops with exit 65 naming the record and the batch;
with --on-error skip the record is set aside.`,
  positionals: [{ name: 'FN', key: 'fn', describe: "the record's key: r => key (default: the whole record)", optional: true }],
  options: {
    within: { type: 'string', meta: 'DUR', describe: 'remember a key for DUR of batch time only (default: for ever)' }
  },
  examples: [
    { command: 'drop-duplicates', describe: 'each distinct record once, ever', input: [['a', 'b', 'a'], ['b', 'c'], []], output: [['a', 'b'], ['c'], []] },
    { command: 'drop-duplicates _.guid --within 2s', describe: 'records with a guid not seen in the last two seconds of batches', input: [[{ guid: 1 }], [{ guid: 1 }, { guid: 2 }], [{ guid: 1 }]], output: [[{ guid: 1 }], [{ guid: 2 }], [{ guid: 1 }]] }
  ],
  input: 'batches',
  init (opts, ctx) {
    const keyFn = opts.fn === undefined ? undefined : ctx.guard(compileFunction(opts.fn, ctx.scope, 'key function'))
    let within: number | undefined
    try {
      within = opts.within === undefined ? undefined : parseDuration(opts.within, '--within')
    } catch (err) {
      throw err instanceof UsageError ? usage(dropDuplicates, err.message) : err
    }
    // id → [key, time of the batch that kept it]; insertion order is time order
    const seen = new Map<string, [unknown, number]>()
    return {
      onBatch (records, batch) {
        if (within !== undefined) {
          for (const [id, [, time]] of seen) {
            if (batch.time - time < within) break
            seen.delete(id)
          }
        }
        const out: unknown[] = []
        for (const record of records) {
          const key = keyFn ? keyFn(record) : record
          if (key === SKIP) continue
          const id = keyOf(key)
          if (seen.has(id)) continue
          seen.set(id, [key, batch.time])
          out.push(record)
        }
        return out
      },
      snapshot: () => [...seen.values()],
      keys: () => seen.size,
      restore (saved) {
        if (!Array.isArray(saved) || !saved.every(e => Array.isArray(e) && e.length === 2 && typeof e[1] === 'number')) {
          throw new Error(`the state is not a list of [key, time] entries, but ${excerpt(saved)}`)
        }
        seen.clear()
        for (const [key, time] of saved as Array<[unknown, number]>) seen.set(keyOf(key), [key, time])
      }
    }
  }
}

export default dropDuplicates
