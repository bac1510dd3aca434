// Structured Streaming: Dataset.dropDuplicatesWithinWatermark (--event-time, --watermark)
// and Dataset.dropDuplicates (without them; --within is dstream's own horizon in batch
// time). There is no DStream counterpart. The key is FN(record) instead of a list of
// columns. With a watermark the semantics are Spark 3.5's, checked against it (see the
// test): records at or before the watermark are late, a key is forgotten once the
// watermark reaches its first event time + the delay. One difference: dstream always
// judges a batch by the watermark the batches before it set, which is what Spark does
// when it runs its no-data batch between two data batches; when data batches follow each
// other with no such batch between (a backlog), Spark tests lateness by the watermark of
// one batch earlier still, and forgets keys only after the batch.
import { parseDuration } from '../lib/core/durations.js'
import { UsageError, excerpt, usage } from '../lib/core/errors.js'
import { compileFunction } from '../lib/core/functions.js'
import { keyOf } from '../lib/core/keys.js'
import { nameOf } from '../lib/durability/component.js'
import { PER_INPUT_PARTITION_TEXT, perInputPartition } from '../lib/systems/kafka/changelog.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'
import { EVENT_TIME_OPTION, WATERMARK_OPTION, Watermark, eventTimeFunction, timeText, watermarkDelay, type WatermarkState } from '../lib/ops/watermark.js'

interface DropDuplicatesOptions { fn?: string, within?: string, eventTime?: string, watermark?: string }

/** What is kept by event time: the watermark, and each key with the event time of the record that kept it. */
interface EventTimeState { watermark: WatermarkState, seen: Array<[unknown, number]> }

const dropDuplicates: OperatorDefinition<DropDuplicatesOptions> = {
  kind: 'operator',
  name: 'drop-duplicates',
  spark: 'dropDuplicatesWithinWatermark, dropDuplicates (Structured Streaming)',
  group: 'event time',
  summary: 'records whose key (FN, default the record) was not seen before: ever, within --within DUR, or while the --watermark keeps it',
  description: `
Emits each record whose key has not been seen before and drops the others, repeats
inside one batch included; the first record of a key is the one kept. The key is
FN(record), or the whole record without FN; keys compare by value, so FN may return
an array or an object ('r => [r.user, r.page]').

Without --within or --event-time the keys seen are remembered for ever (the state
grows with the number of distinct keys), as Spark's dropDuplicates without a
watermark.

With --within DUR a key is remembered for DUR of batch time from the batch that
kept it: a record of that key in a batch less than DUR later is dropped; later it is
kept again, and remembered anew. Dropped repeats do not extend the horizon.

With --event-time FN --watermark DUR the horizon is in the records' own time, as
Spark's withWatermark(t, DUR).dropDuplicatesWithinWatermark(key). The watermark is
the largest event time seen so far, in records kept, repeats and late ones alike,
minus DUR. A batch is judged by the watermark the batches before it set (it holds
still inside a batch). A record whose event time is at or before that watermark is
late: it is not emitted, goes to the dead-letter file (--dead-letter) and is
counted, whatever --on-bad-input says. Of the others, a record of a key seen before
is dropped. A key is forgotten once the watermark reaches the event time of the
record that kept it plus DUR; later records of the key are kept again. Dropped
repeats do not extend this, and so a repeat is dropped while the key is remembered,
however far apart their event times are. --watermark defaults to 0 (a key is
remembered until a later event time is seen); it needs --event-time, and --within
cannot be given with them (one horizon counts batch time, the other event time).

Spark's other form, withWatermark(t, DUR).dropDuplicates(key, t), is FN returning
the key and the event time together ('r => [r.guid, r.ts]'): the output is the
same, since a repeat of both that comes after its key is forgotten is late anyway.

Difference from Spark: dstream judges every batch by the watermark of the batches
before it, which is what Spark does when it runs its no-data batch after the
watermark moves. When Spark's data batches follow each other with no such batch
between (a backlog), it tests lateness by the watermark of one batch earlier still,
and forgets the keys the watermark has passed only after the batch: it lets through
late records that dstream sets aside, and drops repeats of keys that dstream has
forgotten. Spark's watermark starts at 0 (1970), dstream's at minus infinity.

The keys seen (and when), and the watermark, are checkpointed in the state
directory after each batch, and restored when the command starts again with the
same --state-dir and --name. When FN or the --event-time function throws, the
command stops with exit 65 naming the record and the batch; with --on-error skip
the record is set aside. An event time that is not a time (ms since the epoch, a
Date or a date string) is bad input: exit 65, or with --on-bad-input skip set aside.
${PER_INPUT_PARTITION_TEXT.trim()}`,
  positionals: [{ name: 'FN', key: 'fn', describe: "the record's key: r => key (default: the whole record)", optional: true }],
  options: {
    within: { type: 'string', meta: 'DUR', describe: 'remember a key for DUR of batch time only (default: for ever)' },
    ...EVENT_TIME_OPTION,
    ...WATERMARK_OPTION
  },
  examples: [
    { command: 'drop-duplicates', describe: 'each distinct record once, ever', input: [['a', 'b', 'a'], ['b', 'c'], []], output: [['a', 'b'], ['c'], []] },
    { command: 'drop-duplicates _.guid --within 2s', describe: 'records with a guid not seen in the last two seconds of batches', input: [[{ guid: 1 }], [{ guid: 1 }, { guid: 2 }], [{ guid: 1 }]], output: [[{ guid: 1 }], [{ guid: 2 }], [{ guid: 1 }]] },
    {
      command: "drop-duplicates _.k --event-time '_.t * 1000' --watermark 10s",
      describe: 'by event time (t in s): a is remembered until the watermark reaches 110; c (94, watermark 95) is late',
      input: [[{ k: 'a', t: 100 }, { k: 'b', t: 105 }], [{ k: 'a', t: 101 }, { k: 'c', t: 94 }, { k: 'd', t: 96 }], [{ k: 'e', t: 200 }], [{ k: 'a', t: 195 }]],
      output: [[{ k: 'a', t: 100 }, { k: 'b', t: 105 }], [{ k: 'd', t: 96 }], [{ k: 'e', t: 200 }], [{ k: 'a', t: 195 }]]
    }
  ],
  input: 'batches',
  statePerInputPartition: true,
  init (opts, ctx) {
    if (opts.watermark !== undefined && opts.eventTime === undefined) throw usage(dropDuplicates, '--watermark needs --event-time')
    if (opts.within !== undefined && opts.eventTime !== undefined) throw usage(dropDuplicates, '--within (a horizon in batch time) and --event-time (a horizon set by the watermark) exclude each other')
    const rawKey = opts.fn === undefined ? undefined : compileFunction(opts.fn, ctx.scope, 'key function')
    const keyFn = rawKey && ctx.guard(rawKey)
    let within: number | undefined
    try {
      within = opts.within === undefined ? undefined : parseDuration(opts.within, '--within')
    } catch (err) {
      throw err instanceof UsageError ? usage(dropDuplicates, err.message) : err
    }
    const delay = watermarkDelay(dropDuplicates, opts.watermark)
    const eventTime = opts.eventTime === undefined ? undefined : eventTimeFunction(opts.eventTime, ctx)
    const watermark = new Watermark(delay)
    // id → [key, time]: the time of the batch that kept it (insertion order is time
    // order), or with --event-time the event time of the record that kept it
    const seen = new Map<string, [unknown, number]>()

    /** Keeps the record if its key is new; says whether it did. */
    const keep = (record: unknown, time: number): boolean => {
      const key = keyFn ? keyFn(record) : record
      if (key === SKIP) return false
      const id = keyOf(key)
      if (seen.has(id)) return false
      seen.set(id, [key, time])
      return true
    }

    const byBatchTime = (records: unknown[], time: number): unknown[] => {
      if (within !== undefined) {
        for (const [id, [, kept]] of seen) {
          if (time - kept < within) break
          seen.delete(id)
        }
      }
      return records.filter(record => keep(record, time))
    }

    const byEventTime = (records: unknown[], time: number, eventTime: (record: unknown) => number | typeof SKIP): unknown[] => {
      const wm = watermark.current
      const out: unknown[] = []
      for (const record of records) {
        const t = eventTime(record)
        if (t === SKIP) continue
        watermark.observe(t)
        if (t <= wm) {
          ctx.setAside(record, `later than the watermark: event time ${timeText(t)} is at or before the watermark ${timeText(wm)}`, time)
          continue
        }
        if (keep(record, t)) out.push(record)
      }
      // the watermark for the next batch; what it has passed is forgotten now, as in
      // the no-data batch Spark runs when its watermark moves
      if (watermark.advance()) {
        const next = watermark.current
        for (const [id, [, first]] of seen) if (first + delay <= next) seen.delete(id)
      }
      return out
    }

    // from a kafka source: the keys seen kept per input partition, with a changelog topic
    return perInputPartition(dropDuplicates.name, nameOf(dropDuplicates, opts), ctx.stderr, {
      idOf (record) {
        // a key that throws is the guarded call's to report, once
        try { return keyOf(rawKey ? rawKey(record) : record) } catch { return undefined }
      },
      entries: () => seen.entries(),
      drop (gone) { for (const id of seen.keys()) if (gone(id)) seen.delete(id) },
      load (entries) {
        // in the order of their times, which --within's forgetting walks
        const all = [...seen, ...entries as Array<[string, [unknown, number]]>].sort((a, b) => a[1][1] - b[1][1])
        seen.clear()
        for (const [id, entry] of all) seen.set(id, entry)
      }
    }, {
      onBatch: (records, batch) => eventTime ? byEventTime(records, batch.time, eventTime) : byBatchTime(records, batch.time),
      snapshot: (): EventTimeState | Array<[unknown, number]> => eventTime ? { watermark: watermark.snapshot(), seen: [...seen.values()] } : [...seen.values()],
      keys: () => seen.size,
      restore (saved) {
        // the format of a checkpoint by batch time is unchanged: a list of [key, time]
        let entries: unknown = saved
        if (eventTime) {
          const s = saved as EventTimeState
          if (s === null || typeof s !== 'object' || Array.isArray(s) || !('watermark' in s) || !('seen' in s)) {
            throw new Error(`the state is not {watermark, seen} (a checkpoint by event time), but ${excerpt(saved)}`)
          }
          watermark.restore(s.watermark)
          entries = s.seen
        }
        if (!Array.isArray(entries) || !entries.every(e => Array.isArray(e) && e.length === 2 && typeof e[1] === 'number')) {
          throw new Error(`the state is not a list of [key, time] entries, but ${excerpt(entries)}`)
        }
        seen.clear()
        for (const [key, time] of entries as Array<[unknown, number]>) seen.set(keyOf(key), [key, time])
      }
    })
  }
}

export default dropDuplicates
