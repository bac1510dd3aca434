// A replayable source's batches (SPEC §4, "restart resumes"): every read is logged
// before its lines go anywhere, every batch is logged and synced before it leaves,
// and at start the batches the pipeline has not committed are emitted again with
// the same times and contents:
// - by processing time, a batch is the lines of the reads logged with it; the
//   uncommitted ones are read again from their files and emitted as they were;
// - by event time, batches are a function of the records in the order they were
//   read, so the batcher is rebuilt from the resume point logged with the last
//   committed batch and re-reads from there; what it emits up to that batch is
//   dropped, what follows is the same as before.
// tail, watch and the --wal of the line sources are all a Feed: files read in
// ranges, which is what makes them readable again.
import type { Component } from '../durability/component.js'
import { EventTimeBatcher, type Position, type Resume } from './eventTime.js'
import { membersOf, restartPoint } from '../durability/pipeline.js'
import { Serial } from '../core/serial.js'
import { SourceLog, type LoggedBatch, type LoggedRead, type Read } from '../durability/sourceLog.js'
import { batchTimeOf } from '../core/wire.js'
import { SKIP } from '../core/types.js'
import { emitInChunks, type Batching } from './batching.js'

export interface Feed {
  /** where reading goes on after `read`, given where it was before it */
  advance(cursor: unknown, read: Read): unknown
  /** the lines of a logged read, read again from its file */
  lines(read: Read): Promise<string[]>
  /** makes what was read durable before a batch holding it is logged (the WAL) */
  sync?(): void
  /** false when what was read cannot be read again live from the cursor (the WAL) */
  rereads?: boolean
  /** the cursor without what no longer matters (watch: files that are gone), before the log keeps it */
  tidy?(cursor: unknown): unknown
  /** the files the log still names, each time it is rewritten: the others will never be read again (the WAL deletes them) */
  keep?(files: Set<string>): void
}

/** A batch in the source log: by processing time the reads that hold it, by event time where to rebuild from. */
interface FileBatch extends LoggedBatch {
  /** processing time: the reads whose lines are the batch, first and last; null when empty */
  reads?: [number, number] | null
  /** event time: where to rebuild the batches still pending after this one */
  resume?: Resume
}

/** Compact the log after this many batches. */
const COMPACT_EVERY = 1000

export class ReplayableIntake {
  /** where live reading continues */
  cursor: unknown
  private readonly log: SourceLog<FileBatch>
  private readonly serial = new Serial()
  private readonly clock: () => number
  // processing time
  private openTime = 0
  private pending: unknown[] = []
  private firstRead: number | null = null
  private lastRead: number | null = null
  private timer: NodeJS.Timeout | undefined
  // event time
  private events: EventTimeBatcher | undefined
  private nextPosition: Position = { read: 1, line: 0 }
  /** after a restart by event time: the batches up to here were emitted before, and are not again */
  private replayUpTo: number | null = null
  private closed = false
  private sinceCompaction = 0

  private constructor (component: Component, private readonly feed: Feed, private readonly b: Batching) {
    this.log = new SourceLog<FileBatch>(component)
    this.clock = b.clock ?? Date.now
  }

  /** Loads the log, emits what the pipeline has not committed, and is ready for live reads. */
  static async open (component: Component, feed: Feed, batching: Batching, initialCursor: unknown): Promise<ReplayableIntake> {
    const intake = new ReplayableIntake(component, feed, batching)
    await intake.recover(initialCursor)
    return intake
  }

  get time (): number { return this.events ? this.events.time : this.openTime }

  /** A live read: logged first, then its lines batched. */
  pushRead (read: Read, lines: string[]): Promise<void> {
    return this.serial.run(async () => {
      // a reader with a backlog may not yield to the timer between its reads: the
      // batches whose interval ended before this read came are closed here
      if (!this.events) while (!this.closed && this.openTime <= this.clock()) await this.closeBatch()
      const seq = this.log.appendRead(read)
      this.cursor = this.feed.advance(this.cursor, read)
      await this.take(seq, lines, 0)
    }) ?? Promise.resolve()
  }

  /**
   * A live read logged at once, its lines batched after those of the reads logged
   * before it, and not before this turn of the event loop is over: for a source that
   * answers its client as soon as what it sent is in the log (flume), while the
   * batching waits for the pipeline. Reads are taken in the order they were logged,
   * so the log says the same as with pushRead. `records`: the lines' records when
   * the source has them already (the lines are then not parsed again).
   */
  logRead (read: Read, lines: string[], records?: unknown[]): Promise<void> {
    const seq = this.log.appendRead(read)
    this.cursor = this.feed.advance(this.cursor, read)
    return this.serial.run(() => new Promise(resolve => setImmediate(resolve)).then(() => this.take(seq, lines, 0, records))) ?? Promise.resolve()
  }

  /** End of input or a graceful stop: the open batch closes (by event time: every pending batch). */
  close (): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return
      this.closed = true
      clearTimeout(this.timer)
      if (this.events) await this.events.close()
      else await this.closeBatch()
      this.log.close()
    }) ?? Promise.resolve()
  }

  /** The log rewritten with what is kept; the feed learns which files it still names (the WAL deletes the others). */
  private rewriteLog (...kept: Parameters<SourceLog<FileBatch>['rewrite']>): void {
    this.log.rewrite(...kept)
    this.feed.keep?.(new Set(this.log.reads.map(r => r.file)))
  }

  private async recover (initialCursor: unknown): Promise<void> {
    this.log.component.prepare()
    this.log.load()
    if (this.log.reads.length === 0 && this.log.batches.length === 0 && this.log.start.cursor === null) {
      this.rewriteLog({ cursor: initialCursor, after: null }, [], [])
    }
    const point = restartPoint(membersOf(this.log.component.stateDir))
    if (this.b.eventTime) await this.rebuild(point)
    else await this.replay(point)
  }

  /** Processing time: the logged batches after the restart point, emitted again as they were. */
  private async replay (point: number): Promise<void> {
    const { start, reads, batches } = this.log
    const done = batches.filter(b => b.batch <= point)
    const again = batches.filter(b => b.batch > point)
    const covered = (b: FileBatch) => b.reads ? b.reads[1] : 0
    const doneUpTo = Math.max(0, ...done.map(covered))
    const againUpTo = Math.max(doneUpTo, ...again.map(covered))
    // Reads after the last logged batch were in the batch open at the crash: it
    // never left whole. A file is read again live from the cursor before them; the
    // WAL, which cannot be read live again, puts them in the first new batch.
    const trailing = this.feed.rereads === false ? reads.filter(r => r.read > againUpTo) : []
    let cursor = start.cursor
    for (const read of reads) if (read.read <= doneUpTo) cursor = this.feed.advance(cursor, read)
    const kept = reads.filter(r => r.read > doneUpTo && r.read <= againUpTo)
    const after = done.at(-1)?.batch ?? start.after
    this.rewriteLog({ cursor: this.tidy(cursor), after }, [...kept, ...trailing], again)
    this.cursor = cursor
    for (const read of kept) this.cursor = this.feed.advance(this.cursor, read)
    if (this.feed.rereads !== false) {
      // the cursor goes to where the first of them began in each file (it may not know
      // the file at all yet: one tail started reading at its end, or one that appeared)
      const files = new Set<string>()
      for (const read of reads) {
        if (read.read <= againUpTo || files.has(read.file)) continue
        files.add(read.file)
        this.cursor = this.feed.advance(this.cursor, { file: read.file, ino: read.ino, from: read.from, until: read.from })
      }
    }
    if (again.length > 0) this.b.say(`replaying ${again.length} batch${again.length === 1 ? '' : 'es'} the pipeline had not committed (${again[0].batch} to ${again.at(-1)!.batch})`)
    // on a terminal, a bar: batches replayed of the batches to replay
    const bar = again.length > 0 ? this.b.progress?.('batches', again.length) : undefined
    try {
      for (const [n, batch] of again.entries()) {
        const records: unknown[] = []
        for (const read of kept) {
          if (!batch.reads || read.read < batch.reads[0] || read.read > batch.reads[1]) continue
          const lines = await this.feed.lines(read)
          for (let i = 0; i < lines.length; i++) {
            const record = this.record(lines[i], read.read, i, batch.batch)
            if (record !== SKIP) records.push(record)
          }
        }
        await this.emitWhole(batch.batch, batch.interval, records)
        bar?.update(n + 1)
      }
    } finally {
      bar?.stop()
    }
    const last = this.log.lastBatch
    this.openTime = Math.max(batchTimeOf(this.clock(), this.b.interval), last === null ? -Infinity : last + this.b.interval)
    for (const read of trailing) await this.take(read.read, await this.feed.lines(read), 0)
    this.schedule()
  }

  /** Event time: the batcher rebuilt from the last committed batch's resume point. */
  private async rebuild (point: number): Promise<void> {
    const { start, reads, batches } = this.log
    const last = this.log.lastBatch
    const upTo = last === null ? -Infinity : Math.min(point, last)
    const from = batches.filter(b => b.batch <= upTo).at(-1)
    const resume = from?.resume ?? { at: { read: reads[0]?.read ?? this.log.nextRead, line: 0 }, state: { maxSeen: null, next: null } }
    let cursor = start.cursor
    for (const read of reads) if (read.read < resume.at.read) cursor = this.feed.advance(cursor, read)
    const kept = reads.filter(r => r.read >= resume.at.read)
    this.rewriteLog({ cursor: this.tidy(cursor), after: start.after }, kept, from ? [from] : [])
    this.cursor = cursor
    this.replayUpTo = upTo
    this.events = new EventTimeBatcher({
      interval: this.b.interval,
      lateness: this.b.eventTime!.lateness,
      state: resume.state,
      origin: resume,
      emit: (time, records) => this.emitEvent(time, records),
      late: (record, timestamp, batch, at) => this.late(record, timestamp, batch, at)
    })
    if (Number.isFinite(upTo) && kept.length > 0) this.b.say(`rebuilding the batches after ${upTo} from the log`)
    // on a terminal, a bar: the bytes of the logged reads read again (how many batches they make is not known before)
    const bar = kept.length > 0 ? this.b.progress?.('bytes', kept.reduce((sum, r) => sum + r.until - r.from, 0)) : undefined
    let done = 0
    try {
      for (const read of kept) {
        this.cursor = this.feed.advance(this.cursor, read)
        await this.take(read.read, await this.feed.lines(read), read.read === resume.at.read ? resume.at.line : 0)
        bar?.update(done += read.until - read.from)
      }
    } finally {
      bar?.stop()
    }
  }

  /**
   * A late record goes to the dead-letter file once: its position is logged after
   * it is written (a crash in between sets it aside twice rather than never), and a
   * rebuild passes over the positions logged.
   */
  private late (record: unknown, timestamp: number, batch: number, at: Position | undefined): void {
    const key = at ? `${at.read}:${at.line}` : undefined
    if (key !== undefined && this.log.aside.has(key)) return
    this.b.late(record, timestamp, batch)
    if (key !== undefined) this.log.appendAside(key)
  }

  /** Line `line` of read `seq` as a record (with its time, by event time); SKIP when it is set aside, now or before. */
  private record (text: string, seq: number, line: number, time: number): unknown {
    // the position is only looked up when something was ever set aside: this is per record
    if (this.log.aside.size > 0 && this.log.aside.has(`${seq}:${line}`)) return SKIP
    const record = this.b.parse(text, time)
    if (record === SKIP) this.log.appendAside(`${seq}:${line}`)
    return record
  }

  private stamp (record: unknown, seq: number, line: number, time: number): number | typeof SKIP {
    const stamp = this.b.eventTime!.stamp(record, time)
    if (stamp === SKIP) this.log.appendAside(`${seq}:${line}`)
    return stamp
  }

  /** The lines of a read (or their records, given), from line `skip` on, into the open batch or the event-time batcher. */
  private async take (seq: number, lines: string[], skip: number, records?: unknown[]): Promise<void> {
    if (this.events) {
      for (let i = skip; i < lines.length; i++) {
        this.nextPosition = { read: seq, line: i + 1 }
        const record = records ? records[i] : this.record(lines[i], seq, i, this.events.time)
        if (record === SKIP) continue
        const stamp = this.stamp(record, seq, i, this.events.time)
        if (stamp === SKIP) continue
        const wait = this.events.push(record, stamp, { read: seq, line: i })
        if (wait) await wait
      }
      this.nextPosition = { read: seq + 1, line: 0 }
      return
    }
    this.firstRead ??= seq
    this.lastRead = seq
    for (let i = 0; i < lines.length; i++) {
      const record = records ? records[i] : this.record(lines[i], seq, i, this.openTime)
      if (record === SKIP) continue
      this.pending.push(record)
      if (this.pending.length >= this.b.chunk) await this.flush(true)
    }
  }

  private async emitEvent (time: number, records: unknown[]): Promise<void> {
    if (this.replayUpTo !== null && time <= this.replayUpTo) return // emitted before the restart
    this.feed.sync?.()
    this.log.appendBatch({ batch: time, interval: this.b.interval, resume: this.events!.resume(this.nextPosition) })
    await this.emitWhole(time, this.b.interval, records)
    this.compactNow()
  }

  /** Processing time: the timer closes every batch whose interval has ended. */
  private schedule (): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      void this.serial.run(async () => {
        while (!this.closed && this.openTime <= this.clock()) await this.closeBatch()
      })
      this.schedule()
    }, Math.max(0, this.openTime - this.clock()))
  }

  private async closeBatch (): Promise<void> {
    const time = this.openTime
    this.feed.sync?.()
    this.log.appendBatch({ batch: time, interval: this.b.interval, reads: this.firstRead === null ? null : [this.firstRead, this.lastRead!] })
    this.firstRead = this.lastRead = null
    this.openTime += this.b.interval
    await this.flush(false, time)
    this.compactNow()
  }

  private flush (more: boolean, time = this.openTime): void | Promise<void> {
    const records = this.pending
    this.pending = []
    return this.b.emit(more ? { time, interval: this.b.interval, records, more } : { time, interval: this.b.interval, records })
  }

  private emitWhole (time: number, interval: number, records: unknown[]): Promise<void> {
    return emitInChunks(this.b, time, interval, records)
  }

  private tidy (cursor: unknown): unknown {
    return this.feed.tidy ? this.feed.tidy(cursor) : cursor
  }

  /** Now and then, the log drops what no restart can need: what the pipeline has committed. */
  private compactNow (): void {
    if (++this.sinceCompaction < COMPACT_EVERY) return
    this.sinceCompaction = 0
    const point = restartPoint(membersOf(this.log.component.stateDir))
    const { start, reads, batches } = this.log
    if (this.events) {
      const from = batches.filter(b => b.batch <= point).at(-1)
      if (!from?.resume) return
      let cursor = start.cursor
      for (const read of reads) if (read.read < from.resume.at.read) cursor = this.feed.advance(cursor, read)
      this.rewriteLog({ cursor: this.tidy(cursor), after: start.after }, reads.filter(r => r.read >= from.resume!.at.read), batches.filter(b => b.batch >= from.batch))
      return
    }
    const done = batches.filter(b => b.batch <= point)
    if (done.length === 0) return
    const upTo = Math.max(0, ...done.map(b => b.reads ? b.reads[1] : 0))
    let cursor = start.cursor
    const kept: LoggedRead[] = []
    for (const read of reads) {
      if (read.read <= upTo) cursor = this.feed.advance(cursor, read)
      else kept.push(read)
    }
    this.rewriteLog({ cursor: this.tidy(cursor), after: done.at(-1)!.batch }, kept, batches.filter(b => b.batch > point))
  }
}
