// Like `tail -F` into `batch`, but replayable: the byte ranges read are logged in
// the state directory (lib/intake/replayable.ts), so a restarted pipeline gets again the
// batches its sinks had not committed, and a cron job with --once reads only what
// was appended since its last run. Spark has no such source; its textFileStream
// (watch here) reads whole new files only.
import { usage } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { Component } from '../lib/durability/component.js'
import { batching } from '../lib/intake/batching.js'
import { readLinesOf } from '../lib/intake/fileRange.js'
import { Follower, absolute, type FollowCursor } from '../lib/intake/follow.js'
import { CHUNK_OPTION, EVENT_TIME_OPTIONS, INTERVAL_OPTION, type BatchingOptions } from '../lib/intake/options.js'
import { progressBar } from '../lib/intake/progress.js'
import { ReplayableIntake } from '../lib/intake/replayable.js'
import { stopSignal } from '../lib/intake/stop.js'

interface TailOptions extends BatchingOptions {
  files: string[]
  from: string
  once: boolean
}

const tail: SourceDefinition<TailOptions> = {
  kind: 'source',
  name: 'tail',
  spark: '—',
  group: 'sources',
  summary: 'lines appended to files, followed across rotation; replayable',
  description: `
Follows each FILE like tail -F and emits the lines appended to it as batches of
--interval, by processing time (or by --event-time). It polls ten times a second.
When a FILE is renamed away and created again (log rotation), the rest of the old
file is read to its end first, then the new file from its start; when a FILE
shrinks (truncated, copytruncate), it is read again from its start; both are said
on stderr. A FILE that does not exist yet is waited for.

Where each FILE was read up to, and the byte ranges of every batch, are kept in
the state directory (DIR/NAME/log.ndjson). Started again, tail goes on where it
stopped, even across a rotation that happened meanwhile (the old file is found by
its inode next to the new one), and first emits again, with the same times and
lines, the batches that the pipeline's sinks (save, foreach) had not committed:
with the state directory shared by the pipeline, a pipeline killed at any moment
and started again ends with the output of one that never stopped. A pipeline
without a dstream sink (print, or stdout to a file) resumes after the last batch
tail emitted.

--from says where to start in a file tail has not read before: at its end (the
default, like tail -F) or its start. --once reads every FILE to the end it has
when tail starts, emits the last batch and exits 0: the cron mode, where each run
reads what was appended since the last one. A last line without its newline is
left for the next run. With stderr a terminal, a progress bar shows the bytes read
of the bytes there are (--once), and the batches emitted again after a restart of
those to emit again.`,
  positionals: [{ name: 'FILE...', key: 'files', describe: 'the files to follow', variadic: true }],
  options: {
    ...INTERVAL_OPTION,
    json: { type: 'boolean', default: false, describe: 'parse each line as JSON; a line that does not parse is bad input' },
    ...CHUNK_OPTION,
    ...EVENT_TIME_OPTIONS,
    from: { type: 'string', choices: ['start', 'end'], default: 'end', meta: 'start|end', runOnly: true, describe: 'where to begin in a file not read before' },
    once: { type: 'boolean', default: false, runOnly: true, describe: 'read to the current end of every file, then exit (cron)' }
  },
  examples: [
    { command: "tail access.log | dstream filter '_.includes(\" 404 \")' | dstream save out/404 txt", describe: 'the 404 lines of a growing log, saved per second; killed and started again, nothing is lost or saved twice' },
    { command: 'tail --once --from start access.log --state-dir /var/lib/stats | dstream count | dstream foreach -- ./store.sh', describe: 'a cron job: every run counts the lines appended since the last one' },
    { command: "tail events.ndjson --json --event-time _.ts --watermark 1m --interval 1m | dstream count", describe: 'per-minute counts by the time in each event, a minute of lateness allowed' }
  ],
  async start (opts, ctx, io) {
    if (opts.files.length === 0) throw usage(tail, 'no FILE to follow')
    const files = absolute(opts.files)
    const component = Component.of(tail, { ...opts, files }, 'source')
    const feed = { advance: Follower.advance, lines: (read: Parameters<typeof readLinesOf>[0]) => readLinesOf(read, 'tail') }
    const intake = await ReplayableIntake.open(component, feed, batching(opts, tail, ctx, io), {})
    // --once on a terminal: a bar over the bytes to read, what is said written above it
    const bar = opts.once ? progressBar(ctx, { unit: 'bytes' }) : undefined
    const say = (text: string) => bar ? bar.say(`dstream tail: ${text}\n`) : ctx.stderr(`dstream tail: ${text}\n`)
    const follower = new Follower(files, { from: opts.from as 'start' | 'end', once: opts.once, say, progress: bar })
    io.lag(() => ({ bytes: follower.behind() }))
    const { stopped, stop } = stopSignal()
    stopped.then(() => follower.stop())
    const done = follower.run(intake.cursor as FollowCursor, (read, lines) => intake.pushRead(read, lines))
      .finally(() => {
        bar?.stop()
        return intake.close()
      })
    return { done, stop }
  }
}

export default tail
