// A stateful operator's state in the state directory (SPEC §3): versions
// DIR/NAME/checkpoint-TIME.json, the state after batch TIME, readable JSON written
// atomically. Versions are kept until the pipeline's sinks have committed past
// them (lib/durability/pipeline.ts), so that a restart can roll the operator back to the
// batch the sinks last committed, and the source replays from there.
import fs from 'node:fs'
import { writeFileAtomic } from './atomicFile.js'
import type { Component } from './component.js'
import { RuntimeError } from '../core/errors.js'

export interface Saved {
  operator: string
  definition: unknown
  /** the last batch folded into the state */
  time: number
  state: unknown
}

const VERSION = /^checkpoint-(-?\d+)\.json$/

/** The times of the versions in a component's directory, oldest first. */
export function versionsIn (dir: string): number[] {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return []
  }
  const times: number[] = []
  for (const name of names) {
    const match = VERSION.exec(name)
    if (match) times.push(Number(match[1]))
  }
  return times.sort((a, b) => a - b)
}

export class Checkpoint {
  constructor (readonly component: Component) {}

  get name (): string { return this.component.name }

  fileOf (time: number): string { return this.component.file(`checkpoint-${time}.json`) }

  versions (): number[] { return versionsIn(this.component.dir) }

  /** The latest version before batch `time` (the state a run starting at `time` needs), if any. */
  loadBefore (time: number): Saved | undefined {
    const found = this.versions().filter(v => v < time).pop()
    return found === undefined ? undefined : this.read(found)
  }

  private read (time: number): Saved {
    const file = this.fileOf(time)
    let saved: Saved
    try {
      saved = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (typeof saved !== 'object' || saved === null || saved.time !== time || !('state' in saved)) throw new Error('not a checkpoint')
    } catch (err) {
      throw this.component.refusal(`the checkpoint ${file} is corrupt (${(err as Error).message})`)
    }
    return saved
  }

  /** Writes the state after batch `time` atomically: temporary file, fsync, rename. */
  save (time: number, state: unknown): void {
    const { operator, definition } = this.component.meta
    try {
      writeFileAtomic(this.fileOf(time), JSON.stringify({ operator, definition, time, state }))
    } catch (err) {
      throw new RuntimeError(`dstream ${operator}: batch ${time}: cannot write the checkpoint ${this.fileOf(time)}: ${(err as Error).message}`)
    }
  }

  /** Deletes the versions a predicate picks (older than needed, or a rolled-back future). */
  remove (which: (time: number) => boolean): void {
    for (const time of this.versions()) if (which(time)) fs.rmSync(this.fileOf(time), { force: true })
  }
}
