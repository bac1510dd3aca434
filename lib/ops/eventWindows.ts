// Windows by event time, Structured Streaming's window(timeColumn, length, slide): a
// record at time t belongs to every window [start, start + length) that holds t, the
// starts being multiples of the slide counted from the epoch (startTime 0). As in
// Spark the slide may not exceed the length; the length need not be a multiple of
// the slide (then ⌈length/slide⌉ or ⌊length/slide⌋ windows hold a time).
//
//     length 10m, slide 5m, t = 7m:        0    5    10   15      (minutes)
//       last start = t - (t mod slide) = 5m    |----[----)----     [5m, 15m)
//       then 5m - slide = 0m while start + length > t  [---------)  [0m, 10m)
//
// WindowTable holds one accumulator per window and key, and says which it changed
// in the batch being folded (update mode), which the watermark has closed (append
// mode) and lets those go.
import { formatDuration, parseDuration } from '../core/durations.js'
import { DstreamError, excerpt, usage } from '../core/errors.js'
import { keyOf } from '../core/keys.js'
import type { Definition } from '../core/types.js'

/** --length and --slide of an event-time window. */
export class EventWindows {
  readonly length: number
  readonly slide: number

  constructor (def: Definition, opts: { length?: string, slide?: string }) {
    if (opts.length === undefined) throw usage(def, 'missing --length DUR')
    try {
      this.length = parseDuration(opts.length, '--length')
      this.slide = opts.slide === undefined ? this.length : parseDuration(opts.slide, '--slide')
    } catch (err) {
      throw err instanceof DstreamError ? usage(def, err.message) : err
    }
    if (this.slide > this.length) throw usage(def, `--slide ${formatDuration(this.slide)} is longer than --length ${formatDuration(this.length)} (as in Spark, the slide must be at most the length)`)
  }

  /** The start of the latest window holding t (floor modulo: right for times before 1970 too). */
  lastStart (t: number): number { return t - (((t % this.slide) + this.slide) % this.slide) }
}

/** One window's accumulator for one key; seq orders the keys of a window as they came into it. */
export interface Cell { key: unknown, acc: unknown, seq: number, stamp: number }

/** The checkpoint: per window, oldest first, [start, keys, accumulators] (keys in the order they came). */
export type WindowTableState = Array<[number, unknown[], unknown[]]>

/** A row of output: the window, the key and its value. */
export interface WindowRow { window: { start: number, end: number }, key: unknown, value: unknown }

export class WindowTable {
  /** window start → key id → cell */
  private windows = new Map<number, Map<string, Cell>>()
  /** the cells changed in the current batch, with their windows' starts */
  private touched: Array<[number, Cell]> = []
  private stamp = 1
  /** the windows looked up last, [start, cells] */
  private recent: Array<[number, Map<string, Cell>]> = []
  private seq = 0
  private cells = 0

  constructor (private readonly length: number) {}

  /** How many window and key accumulators are held. */
  get size (): number { return this.cells }

  /**
   * The cell of (window start, key) for this batch: undefined when the window has no
   * accumulator for the key yet (then call `create`). Marks it changed in this batch.
   */
  cell (start: number, id: string): Cell | undefined {
    const cell = this.window(start).get(id)
    if (cell !== undefined && cell.stamp !== this.stamp) { cell.stamp = this.stamp; this.touched.push([start, cell]) }
    return cell
  }

  create (start: number, id: string, key: unknown, acc: unknown): void {
    const cell: Cell = { key, acc, seq: this.seq++, stamp: this.stamp }
    this.window(start).set(id, cell)
    this.touched.push([start, cell])
    this.cells++
  }

  /**
   * A window's cells, made when missing. Starts are epoch milliseconds, doubles that a
   * Map hashes slowly, and a batch's records fall into few windows: the last ones
   * looked up are kept aside.
   */
  private window (start: number): Map<string, Cell> {
    const recent = this.recent
    for (let i = 0; i < recent.length; i++) if (recent[i][0] === start) return recent[i][1]
    let window = this.windows.get(start)
    if (window === undefined) { window = new Map(); this.windows.set(start, window) }
    if (recent.length >= 4) recent.shift()
    recent.push([start, window])
    return window
  }

  /** The cells changed since the last call, by window start, then as the keys came into the window; starts a new batch. */
  takeChanged (): WindowRow[] {
    const byWindow = new Map<number, Cell[]>()
    for (const [start, cell] of this.touched) {
      const cells = byWindow.get(start)
      if (cells === undefined) byWindow.set(start, [cell])
      else cells.push(cell)
    }
    const rows: WindowRow[] = []
    for (const start of [...byWindow.keys()].sort((a, b) => a - b)) {
      const cells = byWindow.get(start)!
      const window = this.windows.get(start)!
      // most of the window changed: walk it in order (cheaper than sorting what changed)
      if (cells.length * Math.log2(cells.length + 1) > window.size) {
        for (const cell of window.values()) if (cell.stamp === this.stamp) rows.push(this.row(start, cell))
      } else {
        cells.sort((a, b) => a.seq - b.seq)
        for (const cell of cells) rows.push(this.row(start, cell))
      }
    }
    this.endBatch()
    return rows
  }

  /** Every cell, by window start, then as the keys came into the window. */
  all (): WindowRow[] { return this.rowsOf(this.starts()) }

  /** The cells of the windows that end at or before `upTo` (Spark: end <= watermark), in order. */
  closed (upTo: number): WindowRow[] { return this.rowsOf(this.starts().filter(s => s + this.length <= upTo)) }

  /** Forgets the windows that end at or before `upTo`. */
  evict (upTo: number): void {
    for (const [start, window] of this.windows) {
      if (start + this.length > upTo) continue
      this.cells -= window.size
      this.windows.delete(start)
    }
    this.recent = []
  }

  /** Ends a batch whose changes nobody asks for (complete and append modes). */
  endBatch (): void {
    this.touched = []
    this.stamp++
  }

  private starts (): number[] { return [...this.windows.keys()].sort((a, b) => a - b) }

  private rowsOf (starts: number[]): WindowRow[] {
    const rows: WindowRow[] = []
    for (const start of starts) for (const cell of this.windows.get(start)!.values()) rows.push(this.row(start, cell))
    return rows
  }

  private row (start: number, cell: Cell): WindowRow {
    return { window: { start, end: start + this.length }, key: cell.key, value: cell.acc }
  }

  snapshot (): WindowTableState {
    const out: WindowTableState = []
    for (const start of this.starts()) {
      const keys: unknown[] = []
      const accs: unknown[] = []
      for (const cell of this.windows.get(start)!.values()) { keys.push(cell.key); accs.push(cell.acc) }
      out.push([start, keys, accs])
    }
    return out
  }

  restore (state: unknown): void {
    if (!Array.isArray(state) || !state.every(w => Array.isArray(w) && w.length === 3 && typeof w[0] === 'number' && Array.isArray(w[1]) && Array.isArray(w[2]) && w[1].length === w[2].length)) {
      throw new Error(`the windows are not a list of [start, keys, values], but ${excerpt(state)}`)
    }
    this.windows = new Map()
    this.touched = []
    this.recent = []
    this.cells = 0
    for (const [start, keys, accs] of state as WindowTableState) {
      const window = new Map<string, Cell>()
      keys.forEach((key, i) => window.set(keyOf(key), { key, acc: accs[i], seq: this.seq++, stamp: 0 }))
      this.windows.set(start, window)
      this.cells += window.size
    }
  }
}
