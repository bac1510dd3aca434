// Following files like `tail -F` (the tail source): reads whole lines as they are
// appended, by polling; when the path is renamed away and created again (log
// rotation), what is left of the old file is read to its end before the new one
// is read from its start; when the file shrinks (truncated, copytruncate), it is
// read again from the start and that is said. Each read is handed on with its
// byte range, which is what the source log keeps (lib/intake/replayable.ts).
//
// The cursor, {FILE: {ino, offset}}, is where reading goes on: after a restart a
// file whose inode has moved (rotated while nothing ran) is found by that inode
// next to it and finished first.
import fs from 'node:fs'
import path from 'node:path'
import { locate } from './fileRange.js'
import type { Read } from '../durability/sourceLog.js'
import { splitLines } from './fileRange.js'
import type { Progress } from './progress.js'

export type FollowCursor = Record<string, { ino: number, offset: number }>

export interface FollowOptions {
  /** where to start in a file the cursor does not know yet */
  from: 'start' | 'end'
  /** read to the end each file has now, then stop */
  once: boolean
  say(text: string): void
  /** --once: told the bytes read so far of the bytes there were to read */
  progress?: Pick<Progress, 'update'>
  pollMs?: number
}

type Take = (read: Read, lines: string[]) => Promise<void>

const FIRST_READ = 1 << 20

/** One followed path: the file being read (maybe a rotated one) and where. */
class Followed {
  fd: number | undefined
  ino = 0
  offset = 0
  /** --once: stop at this offset of the file at the path */
  target: number | undefined
  /** reading a file that was rotated away: the path has a new one */
  rotatedTo: number | undefined
  waitingSaid = false

  constructor (readonly file: string) {}
}

export class Follower {
  private stopped = false
  private wake: (() => void) | undefined
  private total = 0
  private done = 0
  private followed: Followed[] = []

  constructor (private readonly files: string[], private readonly o: FollowOptions) {}

  static advance (cursor: unknown, read: Read): FollowCursor {
    return { ...(cursor as FollowCursor ?? {}), [read.file]: { ino: read.ino, offset: read.until } }
  }

  stop (): void {
    this.stopped = true
    this.wake?.()
  }

  /** Reads until stopped (or, --once, until every file is read to the end it had). */
  async run (cursor: FollowCursor, take: Take): Promise<void> {
    const followed = this.followed = this.files.map(file => new Followed(file))
    for (const f of followed) await this.begin(f, cursor[f.file], take)
    while (!this.stopped) {
      let busy = false
      for (const f of followed) {
        if (this.stopped) break
        busy = (await this.step(f, take)) || busy
      }
      // --once: a pass that found nothing to do means all there was has been read
      // (a last line still without its newline waits for the next run)
      if (!busy) {
        if (this.o.once) break
        await this.sleep()
      }
    }
    for (const f of followed) if (f.fd !== undefined) fs.closeSync(f.fd)
    this.followed = []
    // read to the end: all there was to read is read (a last line still without its
    // newline is not for this run); stopped early, the bar stays where it is
    if (this.o.once && !this.stopped) this.o.progress?.update(this.total, this.total)
  }

  /**
   * The bytes written and not read yet, now: what is left of each file being read,
   * and, where that file was rotated away, all of the new file at its path.
   */
  behind (): number {
    let bytes = 0
    for (const f of this.followed) {
      const now = statOrUndefined(f.file)
      if (f.fd === undefined) { bytes += now?.size ?? 0; continue }
      try { bytes += Math.max(0, fs.fstatSync(f.fd).size - f.offset) } catch { /* closed at the end */ }
      if (now && now.ino !== f.ino) bytes += now.size
    }
    return bytes
  }

  /** Opens a file where the cursor left it, or per --from when it is new. */
  private async begin (f: Followed, at: { ino: number, offset: number } | undefined, take: Take): Promise<void> {
    const now = statOrUndefined(f.file)
    if (at) {
      const where = await locate(f.file, at.ino)
      if (where === undefined) {
        this.o.say(`${f.file}: the file read last time (inode ${at.ino}) is gone; lines written to it after byte ${at.offset} are lost; reading ${now ? 'the file there now from its start' : 'the file when it appears'}`)
      } else {
        f.fd = fs.openSync(where, 'r')
        f.ino = at.ino
        f.offset = at.offset
        const size = fs.fstatSync(f.fd).size
        if (size < at.offset) {
          this.o.say(`${f.file} is shorter (${size} bytes) than where reading stopped (${at.offset}): truncated; reading it again from the start`)
          f.offset = 0
        }
        if (where !== f.file) {
          this.o.say(`${f.file} was rotated while stopped: finishing ${where} first`)
          f.rotatedTo = now?.ino ?? -1
          this.total += size - f.offset
        }
      }
    } else if (now) {
      f.fd = fs.openSync(f.file, 'r')
      f.ino = now.ino
      f.offset = this.o.from === 'end' ? now.size : 0
      // logged at once, so that a restart starts from this end too, not from a later one
      if (this.o.from === 'end') await take({ file: f.file, ino: f.ino, from: f.offset, until: f.offset }, [])
    }
    if (this.o.once) {
      f.target = now?.size ?? 0
      const reading = f.fd !== undefined && f.rotatedTo === undefined
      this.total += Math.max(0, (now?.size ?? 0) - (reading ? f.offset : 0))
    }
    this.report()
  }

  /** Reads what there is; checks for rotation and truncation when there is nothing. Returns whether it read. */
  private async step (f: Followed, take: Take): Promise<boolean> {
    if (f.fd !== undefined && await this.readLines(f, take)) return true
    const now = statOrUndefined(f.file)
    if (f.fd === undefined) {
      if (!now) {
        if (!f.waitingSaid && !this.o.once) this.o.say(`${f.file} does not exist (yet); waiting for it`)
        f.waitingSaid = true
        return false
      }
      this.open(f, now.ino)
      return true
    }
    if (f.rotatedTo !== undefined || (now && now.ino !== f.ino)) {
      // rotated: the old file is read to its very end, a last line without newline included
      if (await this.readLines(f, take, true)) return true
      if (!now) return false // renamed away, the new one not there yet: the old may still grow
      if (f.rotatedTo === undefined) this.o.say(`${f.file} was rotated; reading the new file from its start`)
      fs.closeSync(f.fd)
      this.open(f, now.ino)
      return true
    }
    if (now && now.size < f.offset) {
      this.o.say(`${f.file} was truncated (to ${now.size} bytes, from ${f.offset}); reading it again from the start`)
      f.offset = 0
      return true
    }
    return false
  }

  private open (f: Followed, ino: number): void {
    f.fd = fs.openSync(f.file, 'r')
    f.ino = fs.fstatSync(f.fd).ino
    if (f.ino !== ino) this.o.say(`${f.file} changed while being opened`)
    f.offset = 0
    f.rotatedTo = undefined
  }

  /** Whole lines from the offset on (all of it, with `toEnd`); false when there were none. */
  private async readLines (f: Followed, take: Take, toEnd = false): Promise<boolean> {
    const limit = this.o.once && f.rotatedTo === undefined && f.target !== undefined ? f.target : Infinity
    let size = FIRST_READ
    for (;;) {
      const want = Math.min(size, limit - f.offset)
      if (want <= 0) return false
      const buffer = Buffer.allocUnsafe(want)
      const got = fs.readSync(f.fd!, buffer, 0, want, f.offset)
      if (got === 0) return false
      const data = buffer.subarray(0, got)
      const end = data.lastIndexOf(10)
      let until: number
      if (end !== -1) until = f.offset + end + 1
      else if (got === want && want === size) { size *= 2; continue } // a line longer than the read: read more
      else if (toEnd) until = f.offset + got
      else return false // a partial line: its writer is not done
      const bytes = data.subarray(0, until - f.offset)
      const read: Read = { file: f.file, ino: f.ino, from: f.offset, until }
      f.offset = until
      this.done += bytes.length
      await take(read, splitLines(bytes))
      this.report()
      return true
    }
  }

  private report (): void {
    if (this.o.once) this.o.progress?.update(this.done, this.total)
  }

  private sleep (): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(done, this.o.pollMs ?? 100)
      function done (): void { clearTimeout(timer); resolve() }
      this.wake = done
    })
  }
}

function statOrUndefined (file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file)
  } catch {
    return undefined
  }
}

/** Absolute paths, so that the cursor means the same files whatever the working directory. */
export function absolute (files: string[]): string[] {
  return files.map(file => path.resolve(file))
}
