// Spark: a receiver on stdin, with the StreamingContext's batch interval.
import type { SourceDefinition } from '../lib/core/types.js'
import { openIntake } from '../lib/intake/lineIntake.js'
import { feedLines } from '../lib/intake/lines.js'
import { LINE_OPTIONS, WAL_AND_EVENT_TIME_TEXT, type LineSourceOptions } from '../lib/intake/options.js'
import { stopSignal } from '../lib/intake/stop.js'

const batch: SourceDefinition<LineSourceOptions> = {
  kind: 'source',
  name: 'batch',
  spark: 'a receiver on stdin (StreamingContext batch interval)',
  group: 'sources',
  summary: 'stdin lines into batches of INTERVAL',
  description: `
Reads lines from stdin and emits them as batches of INTERVAL (default 1s), by
processing time: a line belongs to the batch whose interval is open when it is
read. Batch times are the ends of their intervals, aligned to the epoch, so two
sources with the same interval produce the same times. Every interval emits a
batch, empty while stdin is idle: empty batches are the clock of print, windows
and state.

While an interval is open, every --chunk records leave at once as a chunk of the
batch (with "more"), so stateless operators downstream work on them early and
no process holds a whole batch. When stdin ends, the open batch is closed at
once and the command exits 0; on SIGINT or SIGTERM likewise.` + WAL_AND_EVENT_TIME_TEXT,
  positionals: [{ name: 'INTERVAL', key: 'interval', describe: 'the batch interval: 250ms, 5s, 1m ... (default 1s)', optional: true }],
  options: LINE_OPTIONS,
  examples: [
    { command: 'batch 5s < access.log', describe: 'the lines of a file, in 5-second batches' },
    { command: "batch 1s --json < events.ndjson | dstream map '_.user'", describe: 'JSON lines as records' }
  ],
  async start (opts, ctx, io) {
    const intake = await openIntake(opts, batch, ctx, io)
    const { stopped, stop } = stopSignal()
    const done = Promise.race([feedLines(io.stdin, intake), stopped])
      .finally(() => intake.close())
    return { done, stop }
  }
}

export default batch
