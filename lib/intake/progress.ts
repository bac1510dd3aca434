// A progress bar on stderr for a source's bounded work: tail --once and watch
// --once (bytes), the replay of a replayable source after a restart (batches), the
// kafka source's backlog and replay (records). Built on cli-progress, the same way
// for every source: progressBar() gives a bar only when stderr is a terminal
// (otherwise undefined, and nothing is ever written); the bar writes through the
// source's own ctx.stderr, given to cli-progress as its `stream`; it is drawn at
// most ten times a second, not at all while there is nothing to do (a total of 0),
// and stop() draws it a last time and ends its line, whether the work is over or
// was stopped early (also when the process exits with the bar still drawn).
//
//   dstream tail: [###############---------------]  50%  1.0 MB of 2.0 MB, 3s left
//
// cli-progress's MultiBar holds our one bar, not its SingleBar: the SingleBar saves
// the cursor when it starts and restores it when it stops, which lands on the
// wrong line once anything has been written to the terminal meanwhile; the
// MultiBar just redraws its line from the first column.
import { createRequire } from 'node:module'
import readline from 'node:readline'
import { Writable } from 'node:stream'
import type cliProgress from 'cli-progress'
import type { Context } from '../core/types.js'

// cli-progress (and string-width under it) is loaded with the first bar, on a
// terminal, not by every command that imports the sources (some 5 ms each time)
let loaded: typeof import('cli-progress') | undefined
const load = () => (loaded ??= createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress'))

/** What a bar counts: bytes read, records read, or batches emitted. */
export type Unit = 'bytes' | 'records' | 'batches'

export interface ProgressOptions {
  unit: Unit
  /** how much there is to do; update() may change it */
  total?: number
  /** ms: the bar is drawn only once the work has gone on this long; work done sooner leaves no trace */
  after?: number
}

export interface Progress {
  /** how much is done, and how much there is when that has changed */
  update(done: number, total?: number): void
  /** a whole line (with its newline) for stderr: written above the bar while it is drawn */
  say(line: string): void
  /** the work is over, or stopped early: the bar drawn as it stands and its line ended; later calls do nothing */
  stop(): void
}

/** The source's stderr: a Context, or what a source has of one. */
export type ProgressTarget = Pick<Context, 'name' | 'stderr' | 'stderrIsTerminal'>

/** A bar labelled `dstream NAME:` on the source's stderr; undefined when stderr is not a terminal. */
export function progressBar (ctx: ProgressTarget, o: ProgressOptions): Progress | undefined {
  if (!ctx.stderrIsTerminal) return undefined
  return new Bar(`dstream ${ctx.name}:`, text => ctx.stderr(text), o)
}

/** The bar's width at most and at least; it is narrower when the line would not fit the terminal. */
const BAR_WIDTH = 30
const BAR_MIN = 10
/** Room kept for ", 59m 59s left", so that the bar does not change width when the estimate comes and goes. */
const LEFT_ROOM = 14

class Bar implements Progress {
  /** what cli-progress writes to: the write function, as a terminal */
  private readonly stream: Writable
  private bars: cliProgress.MultiBar | undefined
  private bar: cliProgress.GenericBar | undefined
  private done = 0
  private total: number
  private stopped = false
  private due: boolean
  private readonly timer: NodeJS.Timeout | undefined
  private readonly atExit = () => this.stop()

  constructor (private readonly label: string, private readonly write: (text: string) => void, private readonly o: ProgressOptions) {
    this.total = o.total ?? 0
    this.due = (o.after ?? 0) <= 0
    this.stream = Object.defineProperties(new Writable({
      decodeStrings: false,
      write (chunk: string, _encoding, next) {
        if (chunk.length > 0) write(chunk)
        next()
      }
    }), {
      isTTY: { value: true },
      // the terminal's width (read, never written), less one: a line that fills it would wrap on some terminals
      columns: { get: () => (process.stderr.columns || 80) - 1 }
    })
    if (!this.due) {
      this.timer = setTimeout(() => { this.due = true; this.draw() }, this.o.after)
      this.timer.unref()
    }
    this.draw()
  }

  update (done: number, total?: number): void {
    if (this.stopped) return
    this.done = done
    if (total !== undefined && total !== this.total) {
      this.total = total
      this.bar?.setTotal(total)
    }
    if (this.bar) this.bar.update(done)
    else this.draw()
  }

  say (line: string): void {
    if (!this.bar || this.stopped) return this.write(line)
    readline.cursorTo(this.stream, 0)
    readline.clearLine(this.stream, 0)
    this.write(line)
    this.bar.render(true)
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    if (!this.bars) return
    process.off('exit', this.atExit)
    this.bars.stop()
  }

  /** The bar starts being drawn once it is due and there is something to do. */
  private draw (): void {
    if (this.bars || this.stopped || !this.due || this.total <= 0) return
    const { MultiBar } = load()
    this.bars = new MultiBar({
      stream: this.stream,
      format: (options, params) => this.line(options, params),
      barsize: BAR_WIDTH,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      fps: 10,
      // the line cut to the terminal's width; the terminal's own settings (wrapping, cursor) are left alone
      linewrap: true,
      hideCursor: false,
      // the source stops the bar itself when it is stopped (and its 'exit' hook when the process ends)
      gracefulExit: false
    })
    this.bar = this.bars.create(this.total, this.done)
    this.bars.update() // drawn now, then every tenth of a second while it changes
    process.once('exit', this.atExit)
  }

  /** "dstream tail: [######--------]  42%  1.0 MB of 2.4 MB, 3s left" */
  private line (options: cliProgress.Options, params: cliProgress.Params): string {
    const percent = String(Math.floor(params.progress * 100)).padStart(3)
    const of = (done: number) => `${this.amount(done)} of ${this.amount(params.total)}${this.o.unit === 'bytes' ? '' : ' ' + this.noun(params.total)}`
    // as wide as the line at its longest (the total twice, the estimate) lets it be in the terminal
    const widest = `${this.label} [] 100%  ${of(params.total)}`.length + LEFT_ROOM
    const barsize = Math.max(BAR_MIN, Math.min(BAR_WIDTH, params.maxWidth - widest))
    // the time left while it goes on (cli-progress's estimate, from the last ten updates); none on the last line
    const left = !this.stopped && params.value < params.total && params.value > 0 && typeof params.eta === 'number' && params.eta > 0 ? `, ${duration(params.eta)} left` : ''
    return `${this.label} [${load().Format.BarFormat(params.progress, { ...options, barsize })}] ${percent}%  ${of(params.value)}${left}`
  }

  private amount (n: number): string {
    if (this.o.unit !== 'bytes') return n.toLocaleString('en-US')
    return n < 1e3 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : n < 1e9 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e9).toFixed(1)} GB`
  }

  private noun (total: number): string {
    const one = this.o.unit === 'batches' ? 'batch' : 'record'
    return total === 1 ? one : this.o.unit
  }
}

/** 7s, 3m 05s, 2h 10m */
function duration (seconds: number): string {
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor(seconds % 3600 / 60)).padStart(2, '0')}m`
}
