// Spark: StreamingContext.textFileStream(dir). Each new file in DIR is read once,
// whole; files are meant to be moved in atomically (written elsewhere, then mv).
// Spark remembers files by modification time within a window; watch keeps the
// files it has read (name, inode and modification time) in its log, so a restart
// neither reads a file twice nor misses one, and replays the batches the
// pipeline's sinks had not committed (lib/intake/replayable.ts).
import fs from 'node:fs'
import path from 'node:path'
import { usage } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { Component } from '../lib/durability/component.js'
import type { Read } from '../lib/durability/sourceLog.js'
import { batching } from '../lib/intake/batching.js'
import { readLinesOf, splitLines } from '../lib/intake/fileRange.js'
import { CHUNK_OPTION, EVENT_TIME_OPTIONS, INTERVAL_OPTION, type BatchingOptions } from '../lib/intake/options.js'
import { progressBar, type Progress } from '../lib/intake/progress.js'
import { ReplayableIntake } from '../lib/intake/replayable.js'
import { stopSignal } from '../lib/intake/stop.js'

interface WatchOptions extends BatchingOptions {
  dir: string
  pattern?: string
  once: boolean
}

/** What watch has read: each file by name, with what identifies that version of it. */
interface WatchCursor {
  done: Record<string, string>
  /** a file read in part when the log was written */
  current?: { name: string, ino: number, offset: number }
}

const READ_BYTES = 1 << 20
const POLL_MS = 200

const watch: SourceDefinition<WatchOptions> = {
  kind: 'source',
  name: 'watch',
  spark: 'textFileStream',
  group: 'sources',
  summary: 'the lines of each new file in a directory, once',
  description: `
Emits the lines of every new file in DIR as batches of --interval, by processing
time (or by --event-time), like Spark's textFileStream: each file is read once,
whole, when it is seen (DIR is looked at five times a second). Files starting
with . or _ are ignored (a file being written: write it elsewhere or under such a
name, then mv it in); --pattern keeps only the names that match a glob. Files
found together are read oldest first (by modification time, then name).

The files read are kept in the state directory (DIR/NAME/log.ndjson, each by its
name, inode and modification time), so a file is read once across restarts, and
a file replaced by a new one of the same name is read again. Started again, watch
first emits again the batches the pipeline's sinks had not committed, with the
same times and lines. A file that disappears before it is read is said on stderr,
skipped and counted. With --once, watch reads the files there are when it starts
and exits 0. With stderr a terminal, a progress bar shows the bytes read of those
files (--once), and the batches emitted again after a restart of those to emit
again.`,
  positionals: [{ name: 'DIR', key: 'dir', describe: 'the directory to watch' }],
  options: {
    ...INTERVAL_OPTION,
    json: { type: 'boolean', default: false, describe: 'parse each line as JSON; a line that does not parse is bad input' },
    ...CHUNK_OPTION,
    ...EVENT_TIME_OPTIONS,
    pattern: { type: 'string', meta: 'GLOB', describe: "only names that match, e.g. '*.log'" },
    once: { type: 'boolean', default: false, runOnly: true, describe: 'read the files there are now, then exit' }
  },
  examples: [
    { command: "watch incoming --interval 10s | dstream flat-map '_.split(\" \")' | dstream count-by-value | dstream save out/wc txt", describe: 'word counts of the files moved into incoming/, saved as out/wc-TIME.txt' },
    { command: "watch /var/spool/events --pattern '*.ndjson' --json --once", describe: 'the JSON lines of the event files there are, then exit' }
  ],
  async start (opts, ctx, io) {
    const dir = path.resolve(opts.dir)
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw usage(watch, `${opts.dir} is not a directory`)
    const matches = opts.pattern === undefined ? () => true : globMatcher(opts.pattern)
    const component = Component.of(watch, { ...opts, dir }, 'source')
    // --once on a terminal: a bar over the bytes of the files there are, what is said written above it
    let bar: Progress | undefined
    const say = (text: string) => bar ? bar.say(`dstream watch: ${text}\n`) : ctx.stderr(`dstream watch: ${text}\n`)
    // files read and since removed are forgotten when the log is compacted
    const tidy = (cursor: unknown): WatchCursor => {
      const { done, current } = cursor as WatchCursor
      const kept = Object.fromEntries(Object.entries(done).filter(([name]) => fs.existsSync(path.join(dir, name))))
      return current ? { done: kept, current } : { done: kept }
    }
    const feed = { advance, tidy, lines: (read: Read) => readLinesOf(read, 'watch') }
    const intake = await ReplayableIntake.open(component, feed, batching(opts, watch, ctx, io), { done: {} })
    const { stopped, stop } = stopSignal()
    let halted = false
    stopped.then(() => { halted = true })
    let vanished = 0
    // the bar's bytes: of the files listed, grown or gone by the time each is read
    let bytesRead = 0
    let bytesThere = 0
    const counted = (read: number, more = 0) => {
      bytesRead += read
      bytesThere += more
      bar?.update(bytesRead, bytesThere)
    }

    /** The files not read yet, oldest first. */
    const newFiles = () => {
      const cursor = intake.cursor as WatchCursor
      const found: Array<{ name: string, stat: fs.Stats }> = []
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith('.') || name.startsWith('_') || !matches(name)) continue
        const stat = fs.statSync(path.join(dir, name), { throwIfNoEntry: false })
        if (!stat?.isFile() || cursor.done[name] === identity(stat)) continue
        found.push({ name, stat })
      }
      return found.sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs || (a.name < b.name ? -1 : 1))
    }

    /** Reads one file to its end, a read per megabyte of whole lines; `listed`: its size when it was listed. */
    const readFile = async (name: string, listed: number): Promise<void> => {
      const file = path.join(dir, name)
      let fd: number
      try {
        fd = fs.openSync(file, 'r')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
        vanished++
        counted(0, -listed)
        say(`${file} disappeared before it was read; skipped (${vanished} so far)`)
        return
      }
      try {
        const stat = fs.fstatSync(fd)
        const current = (intake.cursor as WatchCursor).current
        let offset = current?.name === name && current.ino === stat.ino ? current.offset : 0
        counted(offset, stat.size - listed) // what an earlier run read of it counts as read
        let size = READ_BYTES
        do {
          const buffer = Buffer.allocUnsafe(Math.min(size, stat.size - offset))
          const got = buffer.length === 0 ? 0 : fs.readSync(fd, buffer, 0, buffer.length, offset)
          const data = buffer.subarray(0, got)
          const last = offset + got >= stat.size
          const end = last ? got : data.lastIndexOf(10) + 1
          if (end === 0 && !last) { size *= 2; continue } // a line longer than a read: read more of it
          size = READ_BYTES
          const until = offset + end
          const read: Read = until >= stat.size ? { file, ino: stat.ino, from: offset, until, eof: true, version: identity(stat) } : { file, ino: stat.ino, from: offset, until }
          await intake.pushRead(read, splitLines(data.subarray(0, until - offset)))
          counted(until - offset)
          offset = until
        } while (offset < stat.size)
      } finally {
        fs.closeSync(fd)
      }
    }

    // the files of the last listing not read to their end yet: the lag in the metrics
    let waiting = 0
    io.lag(() => ({ files: waiting }))
    const run = async () => {
      do {
        const files = newFiles()
        if (opts.once) {
          bytesThere = files.reduce((sum, f) => sum + f.stat.size, 0)
          bar = progressBar(ctx, { unit: 'bytes', total: bytesThere })
        }
        waiting = files.length
        for (const { name, stat } of files) {
          if (halted) return
          await readFile(name, stat.size)
          waiting--
        }
        if (opts.once) return
        if (files.length === 0) await Promise.race([stopped, new Promise(resolve => setTimeout(resolve, POLL_MS))])
      } while (!halted)
    }
    const finished = run().finally(() => {
      bar?.stop()
      return intake.close()
    })
    return { done: finished, stop }
  }
}

/** A version of a file: a new file of the same name (even on a reused inode) differs. */
function identity (stat: fs.Stats): string {
  return `${stat.ino}-${Math.floor(stat.mtimeMs)}-${stat.size}`
}

function advance (cursor: unknown, read: Read): WatchCursor {
  const { done } = cursor as WatchCursor
  const name = path.basename(read.file)
  if (read.eof) {
    return { done: { ...done, [name]: read.version! } }
  }
  return { done, current: { name, ino: read.ino, offset: read.until } }
}

/** A shell glob (*, ?, [...]) as a test on a file name. */
export function globMatcher (glob: string): (name: string) => boolean {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') source += '.*'
    else if (c === '?') source += '.'
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1)
      if (close === -1) source += '\\['
      else {
        const body = glob.slice(i + 1, close)
        source += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`
        i = close
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  const re = new RegExp(`^${source}$`)
  return name => re.test(name)
}

export default watch
