// Structured Streaming: a stream-stream join with an event-time range condition
// (Dataset.join of two streams with withWatermark on each, "time range join"), inner,
// leftOuter, rightOuter, fullOuter. There is no DStream counterpart. Checked against
// Spark 3.5 (test/operators/interval-join.test.ts); the differences are in the
// description: the nulls of Spark's no-data batch come out in the batch that moved the
// watermark, and the order of output rows is fixed.
import { parseDuration } from '../lib/core/durations.js'
import { UsageError, usage } from '../lib/core/errors.js'
import { isPair } from '../lib/core/keys.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'
import { JOIN_OPTIONS } from '../lib/ops/join.js'
import { JoinSide, type JoinRow } from '../lib/ops/intervalJoin.js'
import { EVENT_TIME_OPTION, WATERMARK_OPTION, Watermark, eventTimeFunction, timeText, watermarkDelay } from '../lib/ops/watermark.js'

const TYPES = ['inner', 'left-outer', 'right-outer', 'full-outer'] as const

interface IntervalJoinOptions {
  with?: string
  maxWait?: string
  eventTime?: string
  withEventTime?: string
  lower?: string
  upper?: string
  type: typeof TYPES[number]
  watermark?: string
  withWatermark?: string
}

const intervalJoin: OperatorDefinition<IntervalJoinOptions> = {
  kind: 'operator',
  name: 'interval-join',
  spark: 'stream-stream join with withWatermark and a time range (Structured Streaming)',
  group: 'event time',
  summary: 'join two streams by key and event time: [k, [v, w]] when w came within --lower..--upper of v',
  description: `
Joins the input with a second stream (--with) on the key, as Structured Streaming
joins two streams, each with its watermark, on a condition that bounds the event
times. Records on both sides are [k, v] pairs. --event-time FN gives an input value's
event time, --with-event-time FN a --with value's (default: the same FN); FN is
given the value v and returns ms since the epoch, a Date or a date string. A pair
matches when the keys are equal (by value) and

  input time + lower  <=  --with time  <=  input time + upper

both ends included (Spark: rightTime BETWEEN leftTime + lower AND leftTime + upper).
--lower defaults to 0 and may be negative (--lower=-5m: from five minutes before; write
it with =, as a word that starts with - reads as an option); --upper is required. A click within one hour after its impression:

  dstream interval-join --with <(CLICKS) --event-time _.time --upper 1h \\
      --watermark 2h --with-watermark 3h --type left-outer

with [ad, {time, ...}] pairs on both sides, gives [ad, [impression, click]] for each
click of the hour, and [ad, [impression, null]] for an impression that got none.

--type says what else comes out (Spark's join types):
  inner        only the pairs that match (the default)
  left-outer   and [k, [v, null]] for every input record that matched nothing
  right-outer  and [k, [null, w]] for every --with record that matched nothing
  full-outer   both
An unmatched record gives its null once it is sure to match nothing, that is when
the watermark lets it go (below), not in the batch it came in.

The watermark, as Spark's:
  - Each side has one: the largest event time that side has had in the batches
    before, minus its delay (--watermark DUR for the input, --with-watermark DUR for
    the --with stream; default 0). It never goes back.
  - The join goes by the smaller of the two (Spark's default policy, min): the
    stream that is behind holds both back. Until both sides have had a record there
    is no watermark: nothing is late, nothing is let go.
  - A record whose event time is at or before the watermark in force for its batch
    (the one the batches before it set) is late: it joins nothing and is set aside
    in the dead-letter file and counted, even when it would have matched (Spark
    drops it and counts it in numRowsDroppedByWatermark).
  - Each side's records are kept until no record to come from the other side can
    match them. After each batch the watermark moves on; then an input record is let
    go when its time + upper < watermark, a --with record when its time - lower <
    watermark (Spark keeps a record whose bound equals the watermark until the
    watermark passes it; so does dstream). So memory is bounded by the watermarks:
    a record is kept for about its bound plus the delay of the slower side.

Where dstream differs from Spark:
  - Spark lets records go, and emits the outer joins' nulls, in a "no-data batch"
    it runs right after the batch that moved the watermark. dstream does that work at
    the end of the batch itself: those nulls come out in the same output batch.
  - The order of the output is fixed (Spark's depends on its partitions; with one,
    it is this): each input record of the batch with the --with records kept from
    earlier batches, then each --with record of the batch with the input records
    kept, this batch's included, each in the order they came; then the nulls, the
    input's before the --with stream's, in the order the records came.
  - At the end of input the records still kept give no nulls (Spark's stop neither):
    they stay in the checkpoint, and the same command started again with the same
    state directory goes on from them.

Both sides' kept records and both watermarks are checkpointed in the state directory
after each batch and restored when the command starts again.

--with STREAM is a second stream of [k, w] batches: a file of batches, a FIFO, or a
process substitution <(...), paired with the input by batch time as for join (a
stream with no batch at a time is empty then; both must have the same interval, else
exit 65). When one side is behind, the join waits for it; with --max-wait DUR at most
DUR, then it takes that side's batch as empty and says so on stderr.

A record that is not a [key, value] pair, or whose FN gives no time, is bad input
(exit 65, or set aside with --on-bad-input skip).`,
  positionals: [],
  options: {
    with: { ...JOIN_OPTIONS.with, describe: 'the right side: a stream of [k, w] batches (a file, a FIFO, or <(...)), paired with the input by batch time' },
    'max-wait': JOIN_OPTIONS['max-wait'],
    'event-time': { ...EVENT_TIME_OPTION['event-time'], describe: "an input value's event time: FN(v) gives ms since the epoch, a Date or a date string" },
    'with-event-time': { type: 'string', meta: 'FN', describe: 'a --with value\'s event time (default: the --event-time FN)' },
    lower: { type: 'string', meta: 'DUR', describe: 'a --with record matches from input time + DUR on (default 0; may be negative: --lower=-5m)' },
    upper: { type: 'string', meta: 'DUR', describe: 'until input time + DUR, included (may be negative)' },
    type: { type: 'string', meta: 'TYPE', choices: TYPES, default: 'inner', describe: 'inner, left-outer, right-outer or full-outer' },
    watermark: { ...WATERMARK_OPTION.watermark, describe: "how late an input record may come: the input's watermark trails its largest event time by DUR (default 0)" },
    'with-watermark': { type: 'string', meta: 'DUR', describe: "the same for the --with stream (default 0)" }
  },
  examples: [
    { command: 'interval-join --with clicks.ndjson --event-time _.time --upper 1h --watermark 2h --with-watermark 3h', describe: 'each [ad, impression] with every click on that ad within the hour after it' },
    { command: 'interval-join --with clicks.ndjson --event-time _.time --upper 1h --type left-outer', describe: 'the same, and [ad, [impression, null]] for an impression that got no click' },
    { command: "interval-join --with b.ndjson --event-time _.ts --with-event-time 'w => w.at * 1000' --lower=-5s --upper 5s", describe: 'records of two sensors no more than five seconds apart' }
  ],
  input: 'batches',
  withStreams: true,
  init (opts, ctx) {
    if (opts.with === undefined) throw usage(intervalJoin, 'needs --with STREAM')
    if (opts.with === '') throw usage(intervalJoin, '--with needs a STREAM')
    if (opts.eventTime === undefined) throw usage(intervalJoin, "needs --event-time FN: an input value's event time")
    if (opts.upper === undefined) throw usage(intervalJoin, 'needs --upper DUR: how long after an input record a --with record may come (e.g. --upper 1h)')
    const lower = signedDuration(opts.lower ?? '0', '--lower')
    const upper = signedDuration(opts.upper, '--upper')
    if (lower > upper) throw usage(intervalJoin, `--lower ${opts.lower ?? 0} is after --upper ${opts.upper}: no pair could match`)
    const maxWait = duration(opts.maxWait, '--max-wait')
    const sides = {
      input: { rows: new JoinSide(), watermark: new Watermark(watermarkDelay(intervalJoin, opts.watermark)), timeOf: eventTimeFunction(opts.eventTime, ctx, '--event-time'), from: 'the input' },
      with: {
        rows: new JoinSide(),
        watermark: new Watermark(duration(opts.withWatermark, '--with-watermark', true) ?? 0),
        timeOf: eventTimeFunction(opts.withEventTime ?? opts.eventTime, ctx, opts.withEventTime === undefined ? '--event-time' : '--with-event-time'),
        from: 'the --with stream'
      }
    }
    type Side = typeof sides.input
    const within = (inputTime: number, withTime: number) => withTime - inputTime >= lower && withTime - inputTime <= upper
    const outer = { input: opts.type === 'left-outer' || opts.type === 'full-outer', with: opts.type === 'right-outer' || opts.type === 'full-outer' }
    const watermark = () => Math.min(sides.input.watermark.current, sides.with.watermark.current)

    /** A record as a row of its side, or undefined when it is bad or late. */
    function take (record: unknown, side: Side, late: number): JoinRow | undefined {
      if (!isPair(record)) { ctx.badRecord(record, `expected a [key, value] pair from ${side.from}`); return undefined }
      const time = side.timeOf(record[1])
      if (time === SKIP) return undefined
      side.watermark.observe(time)
      if (time <= late) {
        ctx.setAside(record, `later than the watermark: event time ${timeText(time)} from ${side.from} is not after the watermark ${timeText(late)}`, ctx.batch?.time)
        return undefined
      }
      return { key: record[0], value: record[1], time, matched: false }
    }

    return {
      maxWait,
      onBatch (records, _batch, others) {
        const late = watermark()
        const out: unknown[] = []
        for (const record of records) {
          const row = take(record, sides.input, late)
          if (row === undefined) continue
          for (const w of sides.with.rows.rowsOf(row.key)) {
            if (within(row.time, w.time)) { out.push([row.key, [row.value, w.value]]); row.matched = w.matched = true }
          }
          sides.input.rows.add(row)
        }
        for (const record of others?.[0] ?? []) {
          const row = take(record, sides.with, late)
          if (row === undefined) continue
          for (const v of sides.input.rows.rowsOf(row.key)) {
            if (within(v.time, row.time)) { out.push([v.key, [v.value, row.value]]); row.matched = v.matched = true }
          }
          sides.with.rows.add(row)
        }
        // Spark's no-data batch: the watermark moves, and what can match no more goes
        sides.input.watermark.advance()
        sides.with.watermark.advance()
        const now = watermark()
        const inputGone = sides.input.rows.evict(t => t + upper < now)
        const withGone = sides.with.rows.evict(t => t - lower < now)
        if (outer.input) for (const v of inputGone) out.push([v.key, [v.value, null]])
        if (outer.with) for (const w of withGone) out.push([w.key, [null, w.value]])
        return out
      },
      snapshot: () => ({
        watermarks: { input: sides.input.watermark.snapshot(), with: sides.with.watermark.snapshot() },
        input: sides.input.rows.snapshot(),
        with: sides.with.rows.snapshot()
      }),
      restore (saved) {
        const s = saved as { watermarks?: { input?: unknown, with?: unknown }, input?: unknown, with?: unknown }
        if (s === null || typeof s !== 'object' || s.watermarks === null || typeof s.watermarks !== 'object') {
          throw new Error('the state is not {watermarks, input, with}')
        }
        sides.input.watermark.restore(s.watermarks.input)
        sides.with.watermark.restore(s.watermarks.with)
        sides.input.rows.restore(s.input, 'the input\'s rows')
        sides.with.rows.restore(s.with, 'the --with rows')
      },
      keys: () => sides.input.rows.size + sides.with.rows.size
    }
  }
}

/** A duration with an optional sign: --lower=-5m. */
function signedDuration (text: string, what: string): number {
  const negative = /^\s*-/.test(text)
  try {
    const ms = parseDuration(negative ? text.replace(/^\s*-/, '') : text, what, { zero: true })
    return negative ? -ms : ms
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    throw usage(intervalJoin, `bad ${what} '${text}': expected a duration (e.g. 5s, 1h), with a - before it for one back in time (--lower=-5m)`)
  }
}

function duration (text: string | undefined, what: string, zero = false): number | undefined {
  try {
    return text === undefined ? undefined : parseDuration(text, what, { zero })
  } catch (err) {
    throw err instanceof UsageError ? usage(intervalJoin, err.message) : err
  }
}

export default intervalJoin
