// Keyed state for update-state-by-key and map-with-state: one entry per key in
// first-seen order (a Map keeps insertion order; a removed key that comes back is
// new), with its snapshot as plain JSON for the runner's checkpoints. Keys can be
// arrays or objects, so the snapshot is a list of [key, state] (or [key, state,
// time]) entries, not an object. With --partitions each worker thread keeps the
// keys it owns (ownerOf), and each entry its first-seen place in the whole stream,
// so the threads' outputs merge into the order one table would have kept.
import { Dataset } from './dataset.js'
import { BadInputError, UsageError, excerpt, usage } from '../core/errors.js'
import { isPair, keyOf } from '../core/keys.js'
import type { Definition } from '../core/types.js'

export interface Entry {
  key: unknown
  /** undefined while a key seen in this batch has no state yet */
  state: unknown
  /** the batch time of the key's last update (map-with-state's timeouts) */
  time?: number
  /** update-state-by-key: the key's values in the batch being folded, in record order */
  values?: unknown[]
  /**
   * --partitions: where the key was first seen, a place in the stream's record order
   * (restored and initial keys: negative, in their order), to merge the threads' tables
   */
  first?: number
}

/** Every entry made with all its fields, so the million entries of a large state share one shape (V8: no property added later, no slower access). */
function newEntry (key: unknown, state: unknown, time?: number, first?: number): Entry {
  return { key, state, time, values: undefined, first }
}

/** The worker thread of --partitions N that keeps a key: a hash of its id (FNV-1a), mod N. */
export function ownerOf (key: unknown, n: number): number {
  const id = keyOf(key)
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return (h >>> 0) % n
}

/** [key, state] or [key, state, time] */
export type StateEntries = Array<[unknown, unknown] | [unknown, unknown, number]>

export class KeyedState {
  private readonly table = new Map<string, Entry>()

  /** `owns`: the keys this table keeps, of the initial ones and of a restored checkpoint (--partitions) */
  constructor (initial: Array<[unknown, unknown]> = [], private readonly owns?: (key: unknown) => boolean) {
    initial.forEach(([key, state], i) => { if (!owns || owns(key)) this.table.set(keyOf(key), newEntry(key, state, undefined, i - initial.length)) })
  }

  get size (): number { return this.table.size }

  get (id: string): Entry | undefined { return this.table.get(id) }

  /**
   * The key's entry; an entry without state is made for a key not held (one lookup:
   * the hot path of a batch), `first` its place in the stream (--partitions).
   */
  entry (key: unknown, first?: number): Entry {
    // keyOf's own rule for a string key, without the call
    const id = typeof key === 'string' && key.charCodeAt(0) !== 0 ? key : keyOf(key)
    let entry = this.table.get(id)
    if (entry === undefined) {
      entry = newEntry(key, undefined, undefined, first)
      this.table.set(id, entry)
    }
    return entry
  }

  remove (id: string): void { this.table.delete(id) }

  /** Every entry in first-seen order; entries may be removed while iterating. */
  entries (): IterableIterator<[string, Entry]> { return this.table.entries() }

  /** Every [key, state] held. */
  pairs (): Array<[unknown, unknown]> {
    const out: Array<[unknown, unknown]> = []
    for (const e of this.table.values()) if (e.state !== undefined) out.push([e.key, e.state])
    return out
  }

  snapshot (withTime = false): StateEntries {
    const out: StateEntries = []
    for (const e of this.table.values()) {
      if (e.state === undefined) continue
      out.push(withTime && e.time !== undefined ? [e.key, e.state, e.time] : [e.key, e.state])
    }
    return out
  }

  /** Each held key's first-seen place, in the order of snapshot() (--partitions). */
  firsts (): number[] {
    const out: number[] = []
    for (const e of this.table.values()) if (e.state !== undefined) out.push(e.first!)
    return out
  }

  /** Every held key: its id and its snapshot entry ([key, state], or [key, state, time]). */
  * byId (withTime = false): IterableIterator<[string, unknown]> {
    for (const [id, e] of this.table) {
      if (e.state !== undefined) yield [id, withTime && e.time !== undefined ? [e.key, e.state, e.time] : [e.key, e.state]]
    }
  }

  /** Removes the keys `gone` holds for (their ids). */
  dropWhere (gone: (id: string) => boolean): void {
    for (const id of this.table.keys()) if (gone(id)) this.table.delete(id)
  }

  /** Adds keys as byId gave them; throws when they are something else. */
  load (entries: Array<[string, unknown]>): void {
    const saved = entries.map(([, entry]) => entry)
    checkEntries(saved)
    entries.forEach(([id], i) => { const [key, state, time] = saved[i]; this.table.set(id, newEntry(key, state, time)) })
  }

  /** Throws when the checkpoint holds something else; the runner names the file. */
  restore (saved: unknown): void {
    checkEntries(saved)
    this.table.clear()
    saved.forEach(([key, state, time], i) => { if (!this.owns || this.owns(key)) this.table.set(keyOf(key), newEntry(key, state, time, i - saved.length)) })
  }
}

/**
 * The state as keys by id with JSON states, the records [key, value] pairs: what
 * keeping it per input partition needs (lib/systems/kafka/changelog.ts).
 */
export function pairsById (state: KeyedState, withTime = false) {
  return {
    idOf: (record: unknown) => isPair(record) ? keyOf(record[0]) : undefined,
    entries: () => state.byId(withTime),
    drop: (gone: (id: string) => boolean) => state.dropWhere(gone),
    load: (entries: Array<[string, unknown]>) => state.load(entries)
  }
}

/** Throws when a checkpoint holds something else than state entries; the runner names the file. */
export function checkEntries (saved: unknown): asserts saved is StateEntries {
  if (!Array.isArray(saved) || !saved.every(e => Array.isArray(e) && (e.length === 2 || (e.length === 3 && typeof e[2] === 'number')))) {
    throw new Error(`the state is not a list of [key, state] entries, but ${excerpt(saved)}`)
  }
}

/** --initial FILE: [key, state] pairs, a JSON array or NDJSON; none without FILE. */
export function loadInitial (def: Definition, file: string | undefined): Array<[unknown, unknown]> {
  if (file === undefined) return []
  let records: unknown[]
  try {
    records = new Dataset(file, () => {}).current()
  } catch (err) {
    if (err instanceof UsageError) throw usage(def, `--initial ${err.message}`)
    throw new BadInputError(`dstream ${def.name}: --initial ${(err as Error).message}`)
  }
  const bad = records.find(r => !isPair(r) || r[1] === undefined || r[1] === null)
  if (bad !== undefined) throw new BadInputError(`dstream ${def.name}: --initial ${file}: expected [key, state] pairs with a state, got ${excerpt(bad)}`)
  return records as Array<[unknown, unknown]>
}
