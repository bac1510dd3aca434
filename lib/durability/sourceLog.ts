// A replayable source's log in the state directory: DIR/NAME/log.ndjson, append-only
// NDJSON, readable with jq. It records, in order:
//   {"start":CURSOR,"after":TIME}            where reading began (first line)
//   {"read":N,"file":F,"ino":I,"from":A,"until":B}   bytes A..B of a file were read
//   {"batch":TIME,"interval":MS,"reads":[N1,N2]}     a batch was emitted (processing time:
//                                                     its records are the lines of reads N1..N2)
//   {"batch":TIME,"interval":MS,"resume":{...}}      (event time: where to rebuild what was pending)
//   {"aside":"N:K"}                                  line K of read N went to the dead-letter file
// A batch line is synced before the batch leaves, so everything emitted can be
// emitted again, the same, after a crash (lib/intake/replayable.ts).
import fs from 'node:fs'
import { writeFileAtomic } from './atomicFile.js'
import type { Component } from './component.js'
import { RuntimeError } from '../core/errors.js'

/** Bytes of a file that were read: whole lines, `until` just after a newline (or the end of a finished file). */
export interface Read {
  file: string
  ino: number
  from: number
  until: number
  /** the last read of a file that will not grow (watch) */
  eof?: boolean
  /** with eof: what identifies the file read (watch: inode, modification time, size) */
  version?: string
}

export interface LoggedRead extends Read { read: number }

/**
 * A batch as logged: its time and interval, and what the source needs to emit it
 * again, which is its own business (a file source's reads or event-time resume
 * point, lib/intake/replayable.ts; Kafka's offset ranges, lib/systems/kafka/batches.ts).
 */
export interface LoggedBatch {
  batch: number
  interval: number
}

export interface LogStart {
  cursor: unknown
  /** the last batch emitted before the start of this log, if any */
  after: number | null
}

export class SourceLog<B extends LoggedBatch = LoggedBatch> {
  start: LogStart = { cursor: null, after: null }
  reads: LoggedRead[] = []
  batches: B[] = []
  /** records already set aside (late, or bad with --on-bad-input skip), "READ:LINE", so a replay does not set them aside again */
  aside = new Set<string>()
  private fd: number | undefined
  /** the number the next read gets; numbers are never reused, even when the log is compacted */
  nextRead = 1

  constructor (readonly component: Component) {}

  get file (): string { return this.component.file('log.ndjson') }

  /** Reads the log; a line cut short by a crash at the very end is dropped. */
  load (): void {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new RuntimeError(`dstream ${this.component.operator}: cannot read ${this.file}: ${(err as Error).message}`)
    }
    const lines = text.split('\n')
    lines.forEach((line, i) => {
      if (line === '') return
      let entry: any
      try {
        entry = JSON.parse(line)
      } catch {
        if (i === lines.length - 1) return // torn by a crash mid-write: never synced, never emitted
        throw this.component.refusal(`the log ${this.file} is corrupt at line ${i + 1}`)
      }
      if ('start' in entry) {
        this.start = { cursor: entry.start, after: entry.after ?? null }
        this.nextRead = entry.next ?? 1
      }
      else if ('read' in entry) this.reads.push(entry)
      else if ('batch' in entry) this.batches.push(entry)
      else if ('aside' in entry) this.aside.add(entry.aside)
    })
    this.nextRead = Math.max(this.nextRead, (this.reads.at(-1)?.read ?? 0) + 1)
  }

  /** The last batch emitted, per the log. */
  get lastBatch (): number | null { return this.batches.at(-1)?.batch ?? this.start.after }

  /** Logs a read (not synced: the next batch line syncs it); returns its number. */
  appendRead (read: Read): number {
    const entry: LoggedRead = { read: this.nextRead++, ...read }
    this.reads.push(entry)
    this.append(JSON.stringify(entry) + '\n', false)
    return entry.read
  }

  /** Notes a record set aside (after it was written to the dead-letter file). */
  appendAside (at: string): void {
    this.aside.add(at)
    this.append(JSON.stringify({ aside: at }) + '\n', false)
  }

  /** Logs a batch and syncs the log: after this the batch may leave. */
  appendBatch (batch: B): void {
    this.batches.push(batch)
    this.append(JSON.stringify(batch) + '\n', true)
  }

  /** Rewrites the log with what is kept (atomically), and appends from there. */
  rewrite (start: LogStart, reads: LoggedRead[], batches: B[]): void {
    this.close()
    this.start = start
    this.reads = reads
    this.batches = batches
    const lines = [JSON.stringify({ start: start.cursor, after: start.after, next: this.nextRead })]
    for (const entry of [...reads, ...batches]) lines.push(JSON.stringify(entry))
    const first = reads[0]?.read ?? this.nextRead
    this.aside = new Set([...this.aside].filter(at => Number(at.split(':')[0]) >= first))
    for (const at of this.aside) lines.push(JSON.stringify({ aside: at }))
    try {
      writeFileAtomic(this.file, lines.join('\n') + '\n')
    } catch (err) {
      throw new RuntimeError(`dstream ${this.component.operator}: cannot write ${this.file}: ${(err as Error).message}`)
    }
  }

  close (): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
  }

  private append (text: string, sync: boolean): void {
    try {
      this.fd ??= fs.openSync(this.file, 'a')
      fs.writeSync(this.fd, text)
      if (sync) fs.fdatasyncSync(this.fd)
    } catch (err) {
      throw new RuntimeError(`dstream ${this.component.operator}: cannot write ${this.file}: ${(err as Error).message}`)
    }
  }
}
