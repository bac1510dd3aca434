// A dataset from a file, for `transform --with NAME=FILE` and `join --static FILE`:
// Spark's RDD joined with every batch, reloaded when the file changes. The file is a
// JSON array, or NDJSON (one JSON value a line; always so for .ndjson and .jsonl,
// where a one-line file holding an array is one record, not a list of them).
import fs from 'node:fs'
import { BadInputError, UsageError, excerpt } from '../core/errors.js'

export class Dataset {
  private records: unknown[]
  /** what the file looked like when last read: a change of it means a rewrite */
  private seen: string

  /** Loads the file; a missing file is a usage error, one that does not parse bad input. */
  constructor (readonly file: string, private readonly complain: (reason: string) => void) {
    const stat = statOf(file)
    if (stat === undefined) throw new UsageError(`${file}: no such file`)
    this.seen = stat
    try {
      this.records = parse(file, fs.readFileSync(file, 'utf8'))
    } catch (err) {
      throw new BadInputError(`${file}: ${(err as Error).message}`)
    }
  }

  /**
   * The records, read again if the file changed since the last call (its size,
   * time or inode). A file that has gone or does not parse keeps the records it
   * had; `complain` is told once for each such change.
   */
  current (): unknown[] {
    const stat = statOf(this.file) ?? 'gone'
    if (stat === this.seen) return this.records
    this.seen = stat
    try {
      if (stat === 'gone') throw new Error('no such file')
      this.records = parse(this.file, fs.readFileSync(this.file, 'utf8'))
    } catch (err) {
      this.complain(`${this.file} changed but cannot be read (${(err as Error).message}); keeping the version read before`)
    }
    return this.records
  }
}

function statOf (file: string): string | undefined {
  try {
    const s = fs.statSync(file)
    return `${s.ino}:${s.size}:${s.mtimeMs}`
  } catch {
    return undefined
  }
}

function parse (file: string, text: string): unknown[] {
  if (/\.(ndjson|jsonl)$/.test(file)) return parseLines(text)
  let whole: unknown
  try {
    whole = JSON.parse(text)
  } catch (err) {
    try {
      return parseLines(text)
    } catch (notLines) {
      throw /^\s*\[/.test(text) ? new Error(`not a JSON array (${(err as Error).message})`) : notLines
    }
  }
  if (Array.isArray(whole)) return whole
  if (!text.trim().includes('\n')) return [whole]
  throw new Error('one JSON value over several lines that is not an array; expected a JSON array, or NDJSON (one value a line)')
}

function parseLines (text: string): unknown[] {
  const records: unknown[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue
    try {
      records.push(JSON.parse(lines[i]))
    } catch (err) {
      throw new Error(`line ${i + 1} is not JSON (${(err as Error).message}): ${excerpt(lines[i])}`)
    }
  }
  return records
}
