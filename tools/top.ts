// Spark: the Streaming tab's table of batches, in a terminal. Reads the metrics files
// of a state directory (lib/metrics/), which every stage of a pipeline writes, so it
// needs nothing from the pipeline itself and works while it runs or after it ended.
import { Chalk } from 'chalk'
import { parseDuration } from '../lib/core/durations.js'
import { usage } from '../lib/core/errors.js'
import type { ToolDefinition } from '../lib/core/types.js'
import { BEHIND, readStages, summarize, type StageView, type Summary } from '../lib/metrics/reader.js'

interface TopOptions { once: boolean, every: string }

const top: ToolDefinition<TopOptions> = {
  kind: 'tool',
  name: 'top',
  spark: 'the Streaming tab of the web UI',
  group: 'tools',
  summary: "a live view of a pipeline's stages: rates, processing times, delays, behind or not",
  description: `
Shows the stages of the pipeline whose state directory is --state-dir (default:
$DSTREAM_STATE_DIR, else ./.dstream), one row each in pipeline order, refreshed every
second: the batches done, the input rate (records a second, over the last batches),
the processing time of the last batch, and its median and 99th percentile, the
scheduling delay (from a batch's end to its last chunk's arrival at the stage) and
the total delay (to its output having gone on), the keys a stateful operator holds,
how far behind a source is (Kafka: records; tail: bytes; watch: files), and a status:
"behind", in red, when the processing time has been over the interval for ${BEHIND}
batches in a row; "ended" when the stage's process is gone.

Every stage writes its metrics, the last 1000 batches, to DIR/metrics/ as it runs
(DSTREAM_METRICS=N keeps the last N instead, DSTREAM_METRICS=0 none); top reads those files and nothing else, so it
can watch a pipeline that runs under another user's shell or from cron, and show
the last run of one that ended.

In a terminal, top takes the screen and redraws it; q or Ctrl-C quits and gives the
screen back. --once prints one snapshot and exits: for scripts and cron. Without a
terminal, or with NO_COLOR, the output is plain text, no escape codes (a snapshot
every --every without --once).`,
  positionals: [],
  options: {
    once: { type: 'boolean', default: false, describe: 'print one snapshot and exit' },
    every: { type: 'string', meta: 'DUR', default: '1s', describe: 'how often the view is refreshed' }
  },
  examples: [
    { command: 'top --state-dir /var/lib/dstream/wc', describe: 'watch the word count pipeline live' },
    { command: 'top --once', describe: "a snapshot of ./.dstream's pipeline, plain text" }
  ],
  async run (opts, io) {
    let every: number
    try {
      every = parseDuration(opts.every, '--every')
    } catch (err) {
      throw usage(top, (err as Error).message)
    }
    const chalk = new Chalk({ level: io.colour ? 1 : 0 })
    const snapshot = () => table(readStages(opts.stateDir), chalk, opts.stateDir)
    if (opts.once) {
      io.stdout(snapshot())
      return 0
    }
    const terminal = io.terminal
    return await new Promise<number>(resolve => {
      let stopKeys = () => {}
      const timer = setInterval(draw, every)
      function draw (): void {
        // a terminal: the screen cleared and drawn again; otherwise one snapshot after another
        io.stdout(terminal ? '\x1b[H\x1b[2J' + snapshot() + chalk.dim('q or Ctrl-C quits') + '\n' : snapshot() + '\n')
      }
      function quit (): void {
        clearInterval(timer)
        stopKeys()
        // the screen given back as it was
        if (terminal) io.stdout('\x1b[?25h\x1b[?1049l')
        resolve(0)
      }
      if (terminal) {
        io.stdout('\x1b[?1049h\x1b[?25l')
        stopKeys = terminal.keys(key => { if (key === 'q' || key === '\u0003') quit() })
      }
      io.onStop(quit)
      draw()
    })
  }
}

const COLUMNS = ['STAGE', 'PID', 'BATCHES', 'IN/S', 'PROC LAST', 'P50', 'P99', 'SCHED', 'TOTAL', 'KEYS', 'LAG', 'STATUS']

/** The stages as a table, numbers right-aligned; the status coloured when colour may be used. */
function table (stages: StageView[], chalk: InstanceType<typeof Chalk>, stateDir: string): string {
  if (stages.length === 0) return `no metrics in ${stateDir}/metrics: no pipeline has run with this state directory (or DSTREAM_METRICS=0)\n`
  const rows = stages.map(stage => row(stage, summarize(stage)))
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map(r => r[i].text.length)))
  const line = (cells: Array<{ text: string, paint?: (s: string) => string }>) =>
    cells.map((c, i) => {
      const padded = i === 0 || i === cells.length - 1 ? c.text.padEnd(widths[i]) : c.text.padStart(widths[i])
      return c.paint ? c.paint(padded) : padded
    }).join('  ').trimEnd() + '\n'
  const paints: Record<string, (s: string) => string> = { behind: s => chalk.red.bold(s), ended: s => chalk.dim(s), ok: s => chalk.green(s) }
  return line(COLUMNS.map(text => ({ text, paint: s => chalk.bold(s) }))) +
    rows.map(r => line(r.map((c, i) => i === r.length - 1 ? { text: c.text, paint: paints[c.text] } : c))).join('')
}

function row (stage: StageView, s: Summary): Array<{ text: string }> {
  const ms = (v: number | null | undefined) => v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toString()
  const lag = s.lag ? (s.lag.records !== undefined ? `${s.lag.records} rec` : s.lag.bytes !== undefined ? `${s.lag.bytes} B` : `${s.lag.files} files`) : '-'
  const status = !stage.alive ? 'ended' : s.behind ? 'behind' : 'ok'
  return [
    `${stage.header.stage} ${stage.header.name.slice(stage.header.stage.length + 1)}`,
    String(stage.header.pid),
    String(s.batches),
    s.rate === null ? '-' : Math.round(s.rate).toString(),
    ms(s.processing?.last),
    ms(s.processing?.p50),
    ms(s.processing?.p99),
    ms(s.scheduling),
    ms(s.total),
    s.keys === null ? '-' : String(s.keys),
    lag,
    status
  ].map(text => ({ text }))
}

export default top
