// Structured Streaming: df.withWatermark(t, DUR).groupBy(window(t, length, slide), key)
// .agg(...) written with outputMode complete, update or append. There is no DStream
// counterpart: batches come by processing time, windows go by the records' own time.
// Each semantic question was settled by running the same input through Spark 3.5
// (test/operators/aggregate-by-window.test.ts pins the cases). Differences are in the
// description: append-mode windows come out in the batch that moved the watermark
// (Spark: in the no-data batch it runs next); set-aside records are counted one by one.
import { BUILTIN_REDUCERS, builtinRefusal, compileFunction, compileReducer } from '../lib/core/functions.js'
import { usage } from '../lib/core/errors.js'
import { formatDuration } from '../lib/core/durations.js'
import { isPair, keyOf } from '../lib/core/keys.js'
import { EventWindows, WindowTable, type WindowRow, type WindowTableState } from '../lib/ops/eventWindows.js'
import { EVENT_TIME_OPTION, WATERMARK_OPTION, Watermark, eventTimeFunction, timeText, watermarkDelay, type WatermarkState } from '../lib/ops/watermark.js'
import { detached } from '../lib/ops/window.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface AggregateByWindowOptions {
  fn: string
  eventTime?: string
  key?: string
  value?: string
  length?: string
  slide?: string
  watermark?: string
  outputMode: 'complete' | 'update' | 'append'
}

interface Saved { watermark: WatermarkState, windows: WindowTableState }


const aggregateByWindow: OperatorDefinition<AggregateByWindowOptions> = {
  kind: 'operator',
  name: 'aggregate-by-window',
  spark: 'groupBy(window(...), key).agg with withWatermark and outputMode (Structured Streaming)',
  group: 'event time',
  summary: "each key's values reduced with FN per window of event time, with a watermark; output modes complete, update, append",
  description: `
Windowed aggregation by event time over ordinary batches, as Structured Streaming's
groupBy(window(time, length, slide), key).agg(...) with withWatermark. A record's
time is --event-time FN(record); its key is the pair's key (records are [key, value]
pairs) or --key FN(record); its value is the pair's value, or with --key the whole
record, or --value FN(record). FN folds the values of each window and key: an
associative function of two values or a built-in: ${Object.entries(BUILTIN_REDUCERS).map(([n, r]) => `${n} (${r.describe})`).join(', ')}.

Windows are [start, start + --length), their starts the multiples of --slide (default:
the length, tumbling windows) counted from the epoch, as Spark's window(): a record
counts in every window that holds its time (two for a 10m window sliding 5m). The
slide may not exceed the length. Output records are
{"window": {"start": MS, "end": MS}, "key": KEY, "value": VALUE}, ms since the epoch,
in output batches with the input batch's time and interval; rows are ordered by
window start, then by the order the keys came into the window.

The watermark (--watermark DUR) is the largest event time seen in the batches before
this one, minus DUR; a batch's own records move it only for the next batch (Spark
computes it after a micro-batch). A window is behind the watermark when its end is at
or before it (end <= watermark, as Spark): a record is judged by its window's end, not
its own time, so a record older than the watermark still counts while its window is
open. A record's share in a window behind the watermark is dropped; a record all of
whose windows are behind it is set aside in the dead-letter file and counted, whatever
--on-bad-input says (a record of a sliding window may so count in its newer window
only, as in Spark). State of windows behind the watermark is dropped.

--output-mode (default append, Spark's default):
  complete  every window and key held, at every batch (empty ones too). As in Spark,
            nothing is judged late and no state is ever dropped: the state grows
            with every window ever seen, and the watermark does nothing.
  update    the windows and keys that received a record in this batch, with their new
            value, at once (no waiting for the watermark); a late record inside the
            watermark updates its old window and it comes out again. As in Spark, a
            row is emitted when a record came, even if the value is unchanged (max).
  append    each window and key once, final, in the batch whose records moved the
            watermark past the window's end. Spark emits these rows in the no-data
            micro-batch it runs after that batch; here they come out in the same
            output batch. Needs --watermark (Spark refuses append without one).

Without --watermark (Spark without withWatermark) nothing is late and no state is
dropped; complete and update only. At the end of input, windows the watermark has not
passed are not emitted (as Spark, which never flushes them): they stay in the
checkpoint and come out when a later run moves the watermark. Spark's first watermark
is the epoch; here there is none before the first batch with a record.

The windows' accumulators and the watermark are checkpointed in the state directory
after each batch and restored when the command starts again with the same --state-dir
and --name, so a restart (kill -9 included) gives the output of an uninterrupted run.
Spark reports records dropped by the watermark per window and key aggregated
(numRowsDroppedByWatermark); here each record set aside is one line and one count.
A record that is not a pair (without --key), a value a built-in cannot take, or an
event time FN does not give is bad input (exit 65, or set aside with --on-bad-input
skip); a function that throws stops the command (exit 65) unless --on-error skip.`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the reduce function (a, b) => c, or sum, min, max, concat, count' }],
  options: {
    ...EVENT_TIME_OPTION,
    key: { type: 'string', meta: 'FN', describe: "the record's key (default: the pair's key; records must then be [key, value] pairs)" },
    value: { type: 'string', meta: 'FN', describe: "the value FN folds (default: the pair's value, or with --key the whole record)" },
    length: { type: 'string', meta: 'DUR', describe: 'the window length in event time (required), e.g. 10m' },
    slide: { type: 'string', meta: 'DUR', describe: 'how far apart windows start, at most the length (default: the length, tumbling windows)' },
    watermark: { ...WATERMARK_OPTION.watermark, describe: 'how late a record may come: the watermark trails the largest event time seen in earlier batches by DUR (default: no watermark, nothing is late and no state is dropped)' },
    'output-mode': { type: 'string', choices: ['complete', 'update', 'append'], default: 'append', describe: 'which rows each batch emits: complete (all), update (changed), append (final, once the watermark passes the window)' }
  },
  examples: [
    {
      command: "aggregate-by-window count --event-time _.ts --key _.word --length 10s --watermark 10s --output-mode update",
      describe: 'words per 10-second window of their own time, updated as they come; the late "b" is set aside',
      input: [[{ ts: 1000, word: 'a' }, { ts: 12000, word: 'b' }], [{ ts: 3000, word: 'a' }, { ts: 25000, word: 'a' }], [{ ts: 9000, word: 'b' }]],
      output: [
        [{ window: { start: 0, end: 10000 }, key: 'a', value: 1 }, { window: { start: 10000, end: 20000 }, key: 'b', value: 1 }],
        [{ window: { start: 0, end: 10000 }, key: 'a', value: 2 }, { window: { start: 20000, end: 30000 }, key: 'a', value: 1 }],
        []
      ]
    },
    {
      command: "aggregate-by-window sum --event-time '([k, v]) => v.ts' --value '([k, v]) => v.n' --length 10s --watermark 5s",
      describe: 'append mode: each window once, when the watermark passes its end',
      input: [[['x', { ts: 2000, n: 1 }], ['x', { ts: 8000, n: 2 }]], [['x', { ts: 16000, n: 4 }]], [['x', { ts: 26000, n: 8 }]]],
      output: [[], [{ window: { start: 0, end: 10000 }, key: 'x', value: 3 }], [{ window: { start: 10000, end: 20000 }, key: 'x', value: 4 }]]
    },
    {
      command: 'aggregate-by-window max --event-time _[1].ts --value _[1].temp --key _[0] --length 1m --slide 30s --output-mode complete',
      describe: 'the highest temperature per sensor over 1-minute windows every 30 s, every window each batch',
      input: [[['s1', { ts: 40000, temp: 20 }]], [['s1', { ts: 70000, temp: 18 }]]],
      output: [
        [{ window: { start: 0, end: 60000 }, key: 's1', value: 20 }, { window: { start: 30000, end: 90000 }, key: 's1', value: 20 }],
        [{ window: { start: 0, end: 60000 }, key: 's1', value: 20 }, { window: { start: 30000, end: 90000 }, key: 's1', value: 20 }, { window: { start: 60000, end: 120000 }, key: 's1', value: 18 }]
      ]
    }
  ],
  input: 'chunks',
  init (opts, ctx) {
    const def = aggregateByWindow
    if (opts.eventTime === undefined) throw usage(def, 'missing --event-time FN (the time of each record)')
    const windows = new EventWindows(def, opts)
    const mode = opts.outputMode
    const judged = opts.watermark !== undefined && mode !== 'complete'
    if (mode === 'append' && opts.watermark === undefined) throw usage(def, 'append output mode needs --watermark DUR (as in Spark: without one no window is ever final); or use --output-mode update or complete')
    const watermark = new Watermark(watermarkDelay(def, opts.watermark))
    const reducer = compileReducer(opts.fn, ctx.scope)
    const timeOf = eventTimeFunction(opts.eventTime, ctx)
    const keyFn = opts.key === undefined ? undefined : ctx.guard(compileFunction(opts.key, ctx.scope, 'key function'))
    const valueFn = opts.value === undefined ? undefined : ctx.guard(compileFunction(opts.value, ctx.scope, 'value function'))
    const lift = reducer.builtin ? reducer.lift : ctx.guard(reducer.lift)
    const add = reducer.builtin ? reducer.add : ctx.guard(reducer.add)
    // a user FN may change the accumulator it is given: each window gets its own first value
    const copy = !reducer.builtin
    const table = new WindowTable(windows.length)
    const { length, slide } = windows

    /** Folds one record into the open windows that hold its time; false when all of them are behind the watermark. */
    function fold (record: unknown, time: number, id: string, key: unknown, value: unknown): boolean {
      let used = false
      const limit = judged ? watermark.current : -Infinity
      for (let start = windows.lastStart(time); start + length > time; start -= slide) {
        if (start + length <= limit) continue
        const cell = table.cell(start, id)
        if (cell === undefined) {
          const acc = lift(copy && used && typeof value === 'object' && value !== null ? structuredClone(value) : value)
          if (acc !== SKIP) table.create(start, id, key, acc)
        } else {
          const acc = add(cell.acc, value)
          if (acc !== SKIP) cell.acc = acc
        }
        used = true
      }
      return used
    }

    function rowsOf (rows: WindowRow[]): WindowRow[] {
      for (const row of rows) { row.key = detached(row.key); row.value = detached(row.value) }
      return rows
    }

    return {
      onBatch (records, info) {
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (keyFn === undefined && !isPair(record)) { ctx.badRecord(record, 'expected a [key, value] pair (or give --key FN)'); continue }
          const time = timeOf(record)
          if (time === SKIP) continue
          const key = keyFn === undefined ? (record as [unknown, unknown])[0] : keyFn(record)
          if (key === SKIP) continue
          const value = valueFn !== undefined ? valueFn(record) : keyFn === undefined ? (record as [unknown, unknown])[1] : record
          if (value === SKIP) continue
          const refusal = builtinRefusal(reducer.builtin, value)
          if (refusal) { ctx.badRecord(record, `${refusal}, this value is ${JSON.stringify(value)}`); continue }
          watermark.observe(time)
          if (!fold(record, time, keyOf(key), key, value)) {
            ctx.setAside(record, `later than the watermark ${timeText(watermark.current)}: event time ${timeText(time)}, every window of it (${formatDuration(length)} long) ended by then`, info.time)
          }
        }
        if (info.more) return undefined
        watermark.advance()
        if (mode === 'complete') { table.endBatch(); return rowsOf(table.all()) }
        const upTo = opts.watermark === undefined ? -Infinity : watermark.current
        const rows = mode === 'update' ? table.takeChanged() : (table.endBatch(), table.closed(upTo))
        table.evict(upTo)
        return rowsOf(rows)
      },
      snapshot: (): Saved => ({ watermark: watermark.snapshot(), windows: table.snapshot() }),
      restore (saved) {
        const s = saved as Saved
        if (s === null || typeof s !== 'object') throw new Error('the state is not {watermark, windows}')
        watermark.restore(s.watermark)
        table.restore(s.windows)
      },
      keys: () => table.size
    }
  }
}

export default aggregateByWindow
