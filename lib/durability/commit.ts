// A sink's commit in the state directory: DIR/NAME/commit.json holds the last
// batch the sink has written for good. The restart protocol (lib/durability/pipeline.ts)
// replays from the earliest commit of the pipeline's sinks, and a sink skips what
// it had already committed, so a replayed batch is never written twice.
import fs from 'node:fs'
import { writeFileAtomic } from './atomicFile.js'
import type { Component } from './component.js'
import { RuntimeError } from '../core/errors.js'

/** The committed batch time in a sink's directory; null when the sink has committed nothing yet. */
export function committedIn (dir: string): number | null | 'corrupt' {
  let text: string
  try {
    text = fs.readFileSync(`${dir}/commit.json`, 'utf8')
  } catch {
    return null
  }
  try {
    const { committed } = JSON.parse(text)
    if (committed !== null && !Number.isSafeInteger(committed)) return 'corrupt'
    return committed
  } catch {
    return 'corrupt'
  }
}

export class Commit {
  private last: number | null

  constructor (readonly component: Component) {
    const found = committedIn(component.dir)
    if (found === 'corrupt') throw component.refusal(`the commit file ${this.file} is corrupt`)
    this.last = found
    // registered before any batch, so that a restart knows this sink is waiting
    if (found === null) this.write(null)
  }

  get file (): string { return this.component.file('commit.json') }

  /** The last batch committed, by this run or an earlier one. */
  get committed (): number | null { return this.last }

  save (time: number): void {
    this.write(time)
    this.last = time
  }

  private write (committed: number | null): void {
    const { operator, definition } = this.component.meta
    try {
      writeFileAtomic(this.file, JSON.stringify({ operator, definition, committed }) + '\n')
    } catch (err) {
      throw new RuntimeError(`dstream ${operator}: ${committed === null ? 'at start' : `batch ${committed}`}: cannot write ${this.file}: ${(err as Error).message}`)
    }
  }
}
