// `--wal` for the line sources (batch, socket, listen, exec): what comes in is
// appended to segment files DIR/NAME/wal-N.log before it is batched, so the source
// is replayable like tail (lib/intake/replayable.ts reads the ranges again). The
// intake tells the WAL which files its log still names each time it rewrites the
// log (keep); a segment no logged read points into any more is deleted then.
import fs from 'node:fs'
import path from 'node:path'
import { RuntimeError } from '../core/errors.js'
import { readLinesOf } from './fileRange.js'
import type { Component } from '../durability/component.js'
import type { Feed } from './replayable.js'
import type { Read } from '../durability/sourceLog.js'

/** Start a new segment once the current one is this big. */
const SEGMENT_BYTES = 64 * 1024 * 1024
const SEGMENT = /^wal-(\d+)\.log$/

export class Wal implements Feed {
  private fd: number | undefined
  private file = ''
  private ino = 0
  private size = 0
  /** what came in cannot come again: the lines of an unfinished batch are taken from the WAL */
  readonly rereads = false

  constructor (private readonly component: Component) {}

  /** Appends whole lines; returns the read that names them. */
  append (lines: string[]): Read {
    if (this.fd === undefined || this.size >= SEGMENT_BYTES) this.nextSegment()
    let bytes: number
    try {
      // the text as it is: its length in bytes is what writeSync says it wrote
      bytes = fs.writeSync(this.fd!, lines.join('\n') + '\n')
    } catch (err) {
      throw new RuntimeError(`dstream ${this.component.operator}: cannot write the WAL ${this.file}: ${(err as Error).message}`)
    }
    const read = { file: this.file, ino: this.ino, from: this.size, until: this.size + bytes }
    this.size += bytes
    return read
  }

  sync (): void {
    if (this.fd !== undefined) fs.fdatasyncSync(this.fd)
  }

  advance (): unknown { return null }

  lines (read: Read): Promise<string[]> { return readLinesOf(read, this.component.operator) }

  /** Deletes the segments that hold no read the log still has (`inUse`: the files it names), but never the one being written. */
  keep (inUse: Set<string>): void {
    for (const name of fs.readdirSync(this.component.dir)) {
      const file = path.join(this.component.dir, name)
      if (SEGMENT.test(name) && file !== this.file && !inUse.has(file)) fs.rmSync(file, { force: true })
    }
  }

  close (): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }

  private nextSegment (): void {
    this.close()
    const numbers = fs.readdirSync(this.component.dir).map(n => SEGMENT.exec(n)).filter(m => m !== null).map(m => Number(m![1]))
    this.file = path.join(this.component.dir, `wal-${String(Math.max(0, ...numbers) + 1).padStart(6, '0')}.log`)
    this.fd = fs.openSync(this.file, 'wx')
    this.ino = fs.fstatSync(this.fd).ino
    this.size = 0
  }
}
