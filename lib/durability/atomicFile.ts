// A file that appears whole or not at all (SPEC §2 save, §3 checkpoints): written
// to a hidden temporary file in the same directory, fsynced, then renamed over the
// target, so a reader never sees half a file and a rewrite replaces the old one.
// Only a process killed outright (kill -9) between open and rename leaves its
// temporary file behind; removeStaleTemporaries clears those of dead processes.
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

let made = 0

/** The hidden temporary file `file` is written through: .NAME.PID-N.tmp, unique per process and file, so two writers never share one. */
function temporaryFor (file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${++made}.tmp`)
}

/** A temporary file's name: NAME (greedy: it may hold dots), PID and N. */
const TEMPORARY = /^\.(.+)\.(\d+)-\d+\.tmp$/

/**
 * Removes from `dir` the temporary files of the files whose names start with `name`
 * that were left by processes no longer alive (killed outright inside a write). The
 * files of a live process are kept: it may be writing them now. A missing directory
 * has none. Returns the names removed.
 */
export async function removeStaleTemporaries (dir: string, name: string): Promise<string[]> {
  let entries: string[]
  try {
    entries = await fs.readdir(dir)
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return []
    throw err
  }
  const stale = entries.filter(entry => {
    const parts = TEMPORARY.exec(entry)
    return parts !== null && parts[1].startsWith(name) && !isAlive(Number(parts[2]))
  })
  // force: another process starting may be removing the same files
  await Promise.all(stale.map(entry => fs.rm(path.join(dir, entry), { force: true })))
  return stale
}

/** Signal 0 only asks: ESRCH means no such process; EPERM (another user's) and anything else count as alive. */
function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

export class AtomicFile {
  private constructor (readonly file: string, private readonly temporary: string, private readonly handle: fs.FileHandle) {}

  /** Creates the directory if need be and opens the temporary file. */
  static async open (file: string): Promise<AtomicFile> {
    const dir = path.dirname(file)
    await fs.mkdir(dir, { recursive: true })
    const temporary = temporaryFor(file)
    return new AtomicFile(file, temporary, await fs.open(temporary, 'w'))
  }

  async write (text: string): Promise<void> {
    await this.handle.write(text)
  }

  /** Makes the file durable and puts it in place. */
  async commit (): Promise<void> {
    await this.handle.sync()
    await this.handle.close()
    await fs.rename(this.temporary, this.file)
    // the rename itself is durable once the directory is synced
    const dir = await fs.open(path.dirname(this.file), 'r')
    try { await dir.sync() } finally { await dir.close() }
  }

  /** Gives up: the target is left as it was and the temporary file removed. */
  async abort (): Promise<void> {
    await this.handle.close().catch(() => {})
    await fs.rm(this.temporary, { force: true })
  }
}

/** The same, in one synchronous call, for small state files written between batches. */
export function writeFileAtomic (file: string, text: string): void {
  const temporary = temporaryFor(file)
  try {
    const fd = fsSync.openSync(temporary, 'w')
    try {
      fsSync.writeSync(fd, text)
      fsSync.fsyncSync(fd)
    } finally {
      fsSync.closeSync(fd)
    }
    fsSync.renameSync(temporary, file)
  } catch (err) {
    fsSync.rmSync(temporary, { force: true })
    throw err
  }
}
