// Window arithmetic shared by the six window operators (Spark's WindowedDStream and
// ReducedWindowedDStream). A window ending at time t covers the batches whose times
// lie in (t - length, t]; windows end at the batch times that are multiples of the
// slide, so independent pipelines agree on them (SPEC §1). Each batch is folded once
// into a *partial* (its records, or its per-key accumulators); a window is made of
// the partials of its batches, kept in a Ring, never of raw records re-read.
import { formatDuration, parseDuration } from '../core/durations.js'
import { DstreamError, usage } from '../core/errors.js'
import { builtinRefusal, compileFunction, type Reducer } from '../core/functions.js'
import { isPair, keyOf } from '../core/keys.js'
import type { OptionSpec } from '../core/types.js'
import { SKIP, type BatchInfo, type Context, type Definition, type Instance } from '../core/types.js'

export const WINDOW_OPTIONS: Record<string, OptionSpec> = {
  length: { type: 'string', meta: 'DUR', describe: 'the window length (required): a multiple of the input interval, e.g. 30s' },
  slide: { type: 'string', meta: 'DUR', describe: 'how often a window ends: a multiple of the input interval (default: the input interval)' }
}

export const INVERSE_OPTION: Record<string, OptionSpec> = {
  inverse: { type: 'string', meta: 'FN', describe: "FN's inverse (a, b) => c, e.g. '(a, b) => a - b' for a sum: windows are then updated incrementally, Spark's way (keys reduced back to the identity stay)" }
}

export const FILTER_OPTION: Record<string, OptionSpec> = {
  filter: { type: 'string', meta: 'FN', describe: 'with --inverse: keep a key in the window only while FN([key, value]) is true, e.g. \'([k, v]) => v != 0\'' }
}

/** --length and --slide, checked against the input interval at the first batch. */
export class WindowSpec {
  readonly length: number
  private readonly slideOption: number | undefined
  /** 0 until the input interval is known */
  slide = 0

  constructor (private readonly def: Definition, opts: { length?: string, slide?: string }) {
    if (opts.length === undefined) throw usage(def, 'missing --length DUR')
    try {
      this.length = parseDuration(opts.length, '--length')
      this.slideOption = opts.slide === undefined ? undefined : parseDuration(opts.slide, '--slide')
    } catch (err) {
      throw err instanceof DstreamError ? usage(def, err.message) : err
    }
  }

  /**
   * The Instance's outputInterval: the slide. As in Spark (WindowedDStream), length
   * and slide must be multiples of the input interval; neither need divide the other
   * (Spark's "non-overlapping window" has length 2s and slide 3s).
   */
  check (interval: number): number {
    const slide = this.slideOption ?? interval
    for (const [what, ms] of [['--length', this.length], ['--slide', slide]] as const) {
      if (ms % interval !== 0) throw usage(this.def, `${what} ${formatDuration(ms)} is not a multiple of the input interval ${formatDuration(interval)}`)
    }
    this.slide = slide
    return slide
  }

  /** whether a window ends at this batch time */
  isEnd (time: number): boolean { return time % this.slide === 0 }

  /** whether a batch at this time falls into any window (not so in the gaps of a slide longer than the length) */
  isCovered (time: number): boolean { return time > Math.ceil(time / this.slide) * this.slide - this.length }
}

/** The partials of recent batches, oldest first. A deque: evicting from the front is O(evicted). */
export class Ring<P> {
  private times: number[] = []
  private parts: P[] = []
  private head = 0

  push (time: number, part: P): void { this.times.push(time); this.parts.push(part) }

  /** partials of the batches with times in (after, upTo], oldest first; walks from the newest end */
  range (after: number, upTo: number): P[] {
    const out: P[] = []
    for (let i = this.times.length - 1; i >= this.head && this.times[i] > after; i--) {
      if (this.times[i] <= upTo) out.push(this.parts[i])
    }
    return out.reverse()
  }

  /** partials of the batches with times ≤ upTo, oldest first; walks from the oldest end */
  upTo (upTo: number): P[] {
    const out: P[] = []
    for (let i = this.head; i < this.times.length && this.times[i] <= upTo; i++) out.push(this.parts[i])
    return out
  }

  /** forgets the batches with times ≤ upTo */
  evict (upTo: number): void {
    while (this.head < this.times.length && this.times[this.head] <= upTo) this.parts[this.head++] = undefined as P
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head)
      this.parts = this.parts.slice(this.head)
      this.head = 0
    }
  }

  /** every batch kept: its time and partial, oldest first */
  * items (): IterableIterator<[number, P]> {
    for (let i = this.head; i < this.times.length; i++) yield [this.times[i], this.parts[i]]
  }

  /** every partial replaced by what `change` makes of it */
  replace (change: (part: P) => P): void {
    for (let i = this.head; i < this.parts.length; i++) this.parts[i] = change(this.parts[i])
  }

  /** the partial of the batch at `time`, a new one (`make`) put in its place in time order when there is none */
  at (time: number, make: () => P): P {
    let i = this.times.length
    while (i > this.head && this.times[i - 1] > time) i--
    if (i > this.head && this.times[i - 1] === time) return this.parts[i - 1]
    const part = make()
    this.times.splice(i, 0, time)
    this.parts.splice(i, 0, part)
    return part
  }

  toJSON<J> (encode: (part: P) => J): Array<[number, J]> {
    const out: Array<[number, J]> = []
    for (let i = this.head; i < this.times.length; i++) out.push([this.times[i], encode(this.parts[i])])
    return out
  }

  static fromJSON<P, J> (entries: Array<[number, J]>, decode: (json: J) => P): Ring<P> {
    const ring = new Ring<P>()
    for (const [time, json] of entries) ring.push(time, decode(json))
    return ring
  }
}

/**
 * The steps every window operator takes on a whole batch: check the interval at the
 * first, keep the batch's partial if a window will need it, and at a window end
 * compute the window and forget the batches no later window needs.
 */
export class Windowed<P> {
  ring = new Ring<P>()

  constructor (readonly spec: WindowSpec) {}

  step<R> (time: number, interval: number, part: P | undefined, compute: (end: number) => R): R | undefined {
    if (this.spec.slide === 0) this.spec.check(interval)
    if (part !== undefined && this.spec.isCovered(time)) this.ring.push(time, part)
    if (!this.spec.isEnd(time)) return undefined
    const out = compute(time)
    this.ring.evict(time - this.spec.length)
    return out
  }
}

/** One batch's accumulators by key, compactly: parallel arrays (string keys are their own ids). */
export interface KeyedPart { ids: string[], keys: unknown[], accs: unknown[] }
type Table = Map<string, [unknown, unknown]>

export function toPart (table: Table): KeyedPart | undefined {
  if (table.size === 0) return undefined
  const part: KeyedPart = { ids: [], keys: [], accs: [] }
  for (const [id, [key, acc]] of table) { part.ids.push(id); part.keys.push(key); part.accs.push(acc) }
  return part
}

/** How a keyed window combines the partials of its batches. */
export interface WindowFold {
  /** ⊕: joins two accumulators */
  merge(a: unknown, b: unknown): unknown
  /** ⊖: takes b back out of a; given, windows are updated incrementally */
  inverse?(a: unknown, b: unknown): unknown
  /** drop a key when no batch of the window holds it (the built-ins: same output as recomputing) */
  dropEmpty: boolean
  /** Spark's filterFunc: a key whose [key, value] fails it leaves the window's state */
  filter?(pair: [unknown, unknown]): unknown
  /** user functions may change their first argument: take copies of a batch's accumulators */
  copy: boolean
}

const INVERSES: Record<string, (a: any, b: any) => unknown> = { sum: (a, b) => a - b, count: (a, b) => a - b }

/**
 * The WindowFold for FN [--inverse FN] [--filter FN]. Without --inverse, the built-ins
 * sum and count are still incremental (their inverse is known) and drop keys with no
 * values left, so they give what recomputing gives; any other FN recomputes the window
 * from the batches' partials, as Spark's reduceByKeyAndWindow without inverse does.
 */
export function windowFold (def: Definition, ctx: Context, reducer: Reducer & { builtin?: string }, opts: { inverse?: string, filter?: string }): WindowFold {
  if (opts.filter !== undefined && opts.inverse === undefined) {
    throw usage(def, '--filter needs --inverse (without it, keys with no values left in the window leave it anyway)')
  }
  const merge = reducer.builtin ? reducer.merge : ctx.guard(reducer.merge)
  if (opts.inverse !== undefined) {
    return {
      merge,
      inverse: ctx.guard(compileFunction(opts.inverse, ctx.scope, 'inverse function')),
      filter: opts.filter === undefined ? undefined : ctx.guard(compileFunction(opts.filter, ctx.scope, 'filter function')),
      dropEmpty: false,
      copy: !reducer.builtin
    }
  }
  const inverse = reducer.builtin ? INVERSES[reducer.builtin] : undefined
  return { merge, inverse, dropEmpty: true, copy: !reducer.builtin }
}

/** An accumulator of our own, when a user function might change the one it was given. */
const own = (copy: boolean, acc: unknown) => copy && typeof acc === 'object' && acc !== null ? structuredClone(acc) : acc

/**
 * A copy of what a window emits when it is an object or array: the window keeps it for
 * later windows, and an operator fused after this one (`then`) may change what it is
 * handed; piped, it could not, and fused output must equal piped output (SPEC §5).
 */
export const detached = (value: unknown): unknown => typeof value === 'object' && value !== null ? structuredClone(value) : value

/** Per key: [key, accumulator, number of the window's batches that hold the key]. */
type Entry = [unknown, unknown, number]

/**
 * The checkpoint: each kept batch's keys and accumulators as two arrays (keys may be
 * arrays or objects, so no JSON object keyed by them; two flat arrays per batch
 * write and read several times faster than one pair per key), the running window
 * per key as [key, value, batches], and the last window end.
 */
export interface KeyedWindowState {
  ring: Array<[number, { keys: unknown[], values: unknown[] }]>
  running?: Entry[]
  last?: number
}

/**
 * A window of per-key accumulators (reduce-by-key-and-window and the operators
 * built on it). Incremental when the fold has an inverse, Spark's
 * ReducedWindowedDStream; at a window end t, with `last` the previous window end:
 *
 *     batches:  ... | b | b | b | b | b | b | b | b | ...        ------> time
 *                   |____ previous window ___|
 *                           |____ current window ____|
 *                   |_______|                 |______|
 *                      old                      new
 *          (last - length, t - length]       (last, t]
 *
 *     window(t) = (window(last) ⊖ (old₁ ⊕ old₂ ...)) ⊕ (new₁ ⊕ new₂ ...)   per key
 *
 * When the slide exceeds the length, old is the whole previous window and new the
 * whole current one (Spark takes the batches between them out and in again, which
 * an exact inverse cancels, and which can leave a key of those batches in the window).
 * A key in no previous window starts from the new batches alone; with a filter, a
 * key it drops leaves the state, and old values of a key not in the state are
 * ignored (both as Spark). Cost per window: the old and new batches' keys and the
 * output, not the length. Without an inverse, each window folds all its batches'
 * partials (Spark's reduceByKeyAndWindow without inverse does the same).
 */
export class KeyedWindow {
  private readonly windowed: Windowed<KeyedPart>
  private running = new Map<string, Entry>()
  private last: number | undefined

  constructor (spec: WindowSpec, private readonly fold: WindowFold) {
    this.windowed = new Windowed(spec)
  }

  /** The batch at `time`, as its per-key table; at a window end, the window's [key, value] pairs. */
  push (time: number, interval: number, table: Table): Array<[unknown, unknown]> | undefined {
    return this.windowed.step(time, interval, toPart(table), end => this.fold.inverse ? this.slide(end) : this.recompute(end))
  }

  private recompute (end: number): Array<[unknown, unknown]> {
    const table = this.collect(this.windowed.ring.range(end - this.windowed.spec.length, end))
    const out: Array<[unknown, unknown]> = []
    for (const entry of table.values()) out.push([entry[0], entry[1]])
    return out
  }

  private slide (end: number): Array<[unknown, unknown]> {
    const { fold, running } = this
    const { ring, spec } = this.windowed
    const start = end - spec.length
    const olds = this.last === undefined ? [] : ring.upTo(Math.min(this.last, start))
    const news = ring.range(this.last === undefined ? start : Math.max(this.last, start), end)
    this.last = end
    for (const [id, [, old, n]] of this.collect(olds)) {
      const entry = running.get(id)
      if (entry === undefined) continue
      const value = fold.inverse!(entry[1], old)
      if (value !== SKIP) entry[1] = value
      entry[2] -= n
      // no batch of the window holds it: its value is the identity (up to rounding); drop it
      if (fold.dropEmpty && entry[2] <= 0) running.delete(id)
    }
    for (const [id, [key, added, n]] of this.collect(news)) {
      const entry = running.get(id)
      if (entry === undefined) { running.set(id, [key, added, n]); continue }
      const value = fold.merge(entry[1], added)
      if (value !== SKIP) entry[1] = value
      entry[2] += n
    }
    const out: Array<[unknown, unknown]> = []
    for (const [id, entry] of running) {
      const pair: [unknown, unknown] = [entry[0], entry[1]]
      if (fold.filter) {
        const keep = fold.filter(pair)
        if (!keep || keep === SKIP) { running.delete(id); continue }
      }
      out.push(pair)
    }
    return out
  }

  /** The partials folded into one table, oldest first; each entry counts the batches holding its key. */
  private collect (parts: KeyedPart[]): Map<string, Entry> {
    const { merge, copy } = this.fold
    const table = new Map<string, Entry>()
    for (const part of parts) {
      const { ids, keys, accs } = part
      for (let i = 0; i < ids.length; i++) {
        const entry = table.get(ids[i])
        if (entry === undefined) { table.set(ids[i], [keys[i], own(copy, accs[i]), 1]); continue }
        const value = merge(entry[1], accs[i])
        if (value !== SKIP) entry[1] = value
        entry[2]++
      }
    }
    return table
  }

  /**
   * Each key of the window, for keeping the state per input partition
   * (lib/systems/kafka/changelog.ts): id → [key, the accumulators of the batches that
   * hold it as [time, acc], its running entry (--inverse) or null].
   */
  * byId (): IterableIterator<[string, unknown]> {
    const keys = new Map<string, [unknown, Array<[number, unknown]>, Entry | null]>()
    for (const [time, { ids, keys: ks, accs }] of this.windowed.ring.items()) {
      for (let i = 0; i < ids.length; i++) {
        const held = keys.get(ids[i])
        if (held) held[1].push([time, accs[i]])
        else keys.set(ids[i], [ks[i], [[time, accs[i]]], null])
      }
    }
    for (const [id, entry] of this.running) {
      const held = keys.get(id)
      if (held) held[2] = entry
      else keys.set(id, [entry[0], [], entry])
    }
    yield * keys
  }

  /** Removes the keys `gone` holds for. */
  dropWhere (gone: (id: string) => boolean): void {
    this.windowed.ring.replace(part => {
      const kept: KeyedPart = { ids: [], keys: [], accs: [] }
      for (let i = 0; i < part.ids.length; i++) {
        if (gone(part.ids[i])) continue
        kept.ids.push(part.ids[i]); kept.keys.push(part.keys[i]); kept.accs.push(part.accs[i])
      }
      return kept
    })
    for (const id of [...this.running.keys()]) if (gone(id)) this.running.delete(id)
  }

  /** The last window end, which the running entries are as of (--inverse): kept with the keys' changes. */
  lastEnd (): number | null { return this.last ?? null }

  /**
   * Adds keys as byId gave them, their running entries as of window end `last`
   * (another instance's): brought to this window's last end, if it has one.
   */
  load (entries: Array<[string, unknown]>, last: number | null): void {
    if (this.last === undefined && last !== null) this.last = last
    for (const [id, value] of entries) {
      const [key, parts, running] = value as [unknown, Array<[number, unknown]>, Entry | null]
      for (const [time, acc] of parts) {
        const part = this.windowed.ring.at(time, () => ({ ids: [], keys: [], accs: [] }))
        part.ids.push(id); part.keys.push(key); part.accs.push(acc)
      }
      if (!this.fold.inverse) continue // recomputed from the parts at every window
      const entry = last === null || this.last === undefined || last === this.last ? running ?? undefined : this.moved(key, running ?? undefined, parts, last, this.last)
      if (entry) this.running.set(id, entry)
    }
  }

  /** A key's running entry as of window end `from`, brought to end `to`: the batches that left the window taken out, those that came in added. */
  private moved (key: unknown, entry: Entry | undefined, parts: Array<[number, unknown]>, from: number, to: number): Entry | undefined {
    const { merge, inverse, copy, dropEmpty } = this.fold
    const length = this.windowed.spec.length
    const within = (time: number, end: number) => time > end - length && time <= end
    for (const [time, acc] of parts) {
      const was = within(time, from)
      if (was === within(time, to)) continue
      if (!was) {
        if (entry === undefined) { entry = [key, own(copy, acc), 1]; continue }
        const value = merge(entry[1], acc)
        if (value !== SKIP) entry[1] = value
        entry[2]++
      } else if (entry !== undefined) {
        const value = inverse!(entry[1], acc)
        if (value !== SKIP) entry[1] = value
        entry[2]--
      }
    }
    return entry !== undefined && dropEmpty && entry[2] <= 0 ? undefined : entry
  }

  snapshot (): KeyedWindowState {
    // the batches' arrays as they are: they never change once kept
    const ring = this.windowed.ring.toJSON(p => ({ keys: p.keys, values: p.accs }))
    return this.fold.inverse ? { ring, running: [...this.running.values()], last: this.last } : { ring }
  }

  restore (state: KeyedWindowState): void {
    this.windowed.ring = Ring.fromJSON(state.ring, ({ keys, values }) => ({ ids: keys.map(keyOf), keys, accs: values }))
    this.running = new Map((state.running ?? []).map(e => [keyOf(e[0]), e]))
    this.last = state.last ?? undefined
  }
}

/** The key under which the unkeyed windows (reduce-by-window, count-by-window) keep their one value, as Spark's map((1, _)). */
export const ONE = keyOf(1)

/** Folds whole records (not pairs) into one accumulator per batch, for reduce-by-window. */
export class ValueFold {
  private acc: unknown
  private empty = true
  private readonly add: (acc: unknown, value: unknown) => unknown

  constructor (private readonly reducer: Reducer & { builtin?: string }, private readonly ctx: Context) {
    this.add = reducer.builtin ? reducer.add : ctx.guard(reducer.add)
  }

  fold (records: unknown[]): void {
    for (let i = 0; i < records.length; i++) {
      const record = records[i]
      const refusal = builtinRefusal(this.reducer.builtin, record)
      if (refusal) { this.ctx.badRecord(record, `${refusal}, this record is`); continue }
      if (this.empty) { this.acc = this.reducer.lift(record); this.empty = false; continue }
      const next = this.add(this.acc, record)
      if (next !== SKIP) this.acc = next
    }
  }

  /** The batch's table: its accumulator under ONE, or nothing for an empty batch; starts afresh. */
  take (): Table {
    const table: Table = this.empty ? new Map() : new Map([[ONE, [1, this.acc]]])
    this.acc = undefined
    this.empty = true
    return table
  }
}

/** What folds a batch's chunks into its per-key table. */
export interface BatchFold { fold(records: unknown[]): void, take(): Table }

/**
 * The Instance of a keyed window operator: chunks folded as they come, the batch's
 * table handed to the window at its last chunk, the window's pairs shaped by `output`.
 */
export function keyedWindowInstance (spec: WindowSpec, fold: WindowFold, batch: BatchFold, output: (pairs: Array<[unknown, unknown]>) => unknown[] = pairs => pairs, keyed?: (view: KeyedView, inner: Instance) => Instance): Instance {
  const window = new KeyedWindow(spec, fold)
  // the keys of the last window made, for the metrics
  let held = 0
  const windowed = (info: BatchInfo, table: Table) => {
    const pairs = window.push(info.time, info.interval, table)
    if (pairs === undefined) return undefined
    held = pairs.length
    for (const pair of pairs) { pair[0] = detached(pair[0]); pair[1] = detached(pair[1]) }
    return output(pairs)
  }
  const instance: Instance = {
    onBatch (records, info) {
      batch.fold(records)
      if (info.more) return undefined
      return windowed(info, batch.take())
    },
    onCombined: (table, info) => windowed(info, table),
    outputInterval: interval => spec.check(interval),
    snapshot: () => window.snapshot(),
    restore: state => window.restore(state as KeyedWindowState),
    keys: () => held
  }
  if (!keyed) return instance
  return keyed({
    idOf: record => isPair(record) ? keyOf(record[0]) : undefined,
    entries: () => window.byId(),
    drop: gone => window.dropWhere(gone),
    load: (entries, last) => window.load(entries, (last as number | null | undefined) ?? null),
    meta: () => window.lastEnd()
  }, instance)
}

/** A keyed window's state as keys by id, the records [key, value] pairs: what keeping it per input partition needs (lib/systems/kafka/changelog.ts). */
export interface KeyedView {
  idOf(record: unknown): string | undefined
  entries(): Iterable<[string, unknown]>
  drop(gone: (id: string) => boolean): void
  load(entries: Array<[string, unknown]>, meta: unknown): void
  meta(): unknown
}
