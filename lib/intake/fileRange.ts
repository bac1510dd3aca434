// Bytes of a file read again for a replay (lib/intake/replayable.ts). A followed file may
// have been rotated since it was read: it is found by its inode among the files of
// its directory (app.log.1), and when it is gone the replay fails naming it.
import fs from 'node:fs/promises'
import path from 'node:path'
import { RuntimeError } from '../core/errors.js'
import type { Read } from '../durability/sourceLog.js'

/** The path that holds inode `ino` now: `file` itself, or a file renamed next to it. */
export async function locate (file: string, ino: number): Promise<string | undefined> {
  const here = await fs.stat(file).catch(() => undefined)
  if (here?.ino === ino) return file
  const dir = path.dirname(file)
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const candidate = path.join(dir, name)
    const stat = await fs.stat(candidate).catch(() => undefined)
    if (stat?.ino === ino && stat.isFile()) return candidate
  }
  return undefined
}

/** The lines of a logged read; its bytes end with a newline except at the end of a finished file. */
export async function readLinesOf (read: Read, operator: string): Promise<string[]> {
  const where = await locate(read.file, read.ino)
  if (!where) throw new RuntimeError(`dstream ${operator}: cannot replay bytes ${read.from}-${read.until} of ${read.file}: the file (inode ${read.ino}) is gone; its batches cannot be emitted again ('dstream state reset' the source to go on without them)`)
  const handle = await fs.open(where, 'r')
  try {
    const length = read.until - read.from
    const buffer = Buffer.alloc(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await handle.read(buffer, got, length - got, read.from + got)
      if (bytesRead === 0) throw new RuntimeError(`dstream ${operator}: cannot replay bytes ${read.from}-${read.until} of ${where}: the file is shorter now (truncated?)`)
      got += bytesRead
    }
    return splitLines(buffer)
  } finally {
    await handle.close()
  }
}

/** Whole lines of a buffer; a last line without its newline is a line too. */
export function splitLines (buffer: Buffer): string[] {
  const text = buffer.toString('utf8')
  const lines = text.split(/\r?\n/)
  if (lines.at(-1) === '') lines.pop()
  return lines
}
