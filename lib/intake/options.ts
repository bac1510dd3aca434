// The options the sources share, declared once (batch, socket, listen, exec and
// generate take the line options; tail and watch, the interval, chunk and event
// time; kafka, the interval and chunk), and the text that explains them.
import type { OptionSpec } from '../core/types.js'

export interface BatchingOptions {
  interval?: string
  json: boolean
  chunk: number
  eventTime?: string
  watermark?: string
}

export interface LineSourceOptions extends BatchingOptions {
  wal: boolean
}

export const INTERVAL_OPTION: Record<string, OptionSpec> = {
  interval: { type: 'string', meta: 'DUR', default: '1s', describe: 'the batch interval: 250ms, 5s, 1m ...' }
}

export const CHUNK_OPTION: Record<string, OptionSpec> = {
  chunk: { type: 'number', default: 1000, describe: 'most records in one chunk while the interval is open' }
}

export const EVENT_TIME_OPTIONS: Record<string, OptionSpec> = {
  'event-time': { type: 'string', meta: 'FN', describe: "batch by the records' own time: FN gives ms since the epoch or a date string" },
  watermark: { type: 'string', meta: 'DUR', describe: 'with --event-time: how late a record may come (default 0)' }
}

/** What --wal and --event-time do, for the descriptions of the line sources. */
export const WAL_AND_EVENT_TIME_TEXT = `

With --wal, what comes in is first written to the state directory (DIR/NAME/,
WAL segments and a log of the batches), each batch synced before it leaves: killed
and started again, the source first emits again, with the same times and records,
the batches the pipeline's sinks (save, foreach) had not committed, and the lines
of the batch that was open (with stderr a terminal, a progress bar shows the
batches emitted again of those to emit again). Lines are safe once the read
holding them is in the log (a few milliseconds after they arrive); what a client
sent that was not, the client must send again. Segments are deleted once committed.

With --event-time FN, a record goes to the batch whose interval holds its own time
(FN gives ms since the epoch, a Date or a date string); a batch leaves once the
watermark (the largest time seen minus --watermark) has passed its end, empty
batches fill gaps, a record whose batch has left goes to the dead-letter file and
is counted, and at end of input every pending batch leaves. Time moves with the
data only: no batch leaves while nothing comes.`

export const WAL_OPTION: Record<string, OptionSpec> = {
  wal: { type: 'boolean', default: false, describe: 'write what comes in to the state directory first, so a restart replays what the pipeline has not committed' }
}

export const LINE_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', default: false, describe: 'parse each line as JSON; a line that does not parse is bad input' },
  ...CHUNK_OPTION,
  ...EVENT_TIME_OPTIONS,
  ...WAL_OPTION
}
