// Keyed state for update-state-by-key and map-with-state: one entry per key in
// first-seen order (a Map keeps insertion order; a removed key that comes back is
// new), with its snapshot as plain JSON for the runner's checkpoints. Keys can be
// arrays or objects, so the snapshot is a list of [key, state] (or [key, state,
// time]) entries, not an object.
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
}

/** [key, state] or [key, state, time] */
export type StateEntries = Array<[unknown, unknown] | [unknown, unknown, number]>

export class KeyedState {
  private readonly table = new Map<string, Entry>()

  constructor (initial: Array<[unknown, unknown]> = []) {
    for (const [key, state] of initial) this.table.set(keyOf(key), { key, state })
  }

  get size (): number { return this.table.size }

  get (id: string): Entry | undefined { return this.table.get(id) }

  /** The key's id; an entry without state is made for a key not held. */
  touch (key: unknown): string {
    const id = keyOf(key)
    if (!this.table.has(id)) this.table.set(id, { key, state: undefined })
    return id
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

  /** Throws when the checkpoint holds something else; the runner names the file. */
  restore (saved: unknown): void {
    if (!Array.isArray(saved) || !saved.every(e => Array.isArray(e) && (e.length === 2 || (e.length === 3 && typeof e[2] === 'number')))) {
      throw new Error(`the state is not a list of [key, state] entries, but ${excerpt(saved)}`)
    }
    this.table.clear()
    for (const [key, state, time] of saved as StateEntries) this.table.set(keyOf(key), time === undefined ? { key, state } : { key, state, time })
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
