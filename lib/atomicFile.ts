// A file that appears whole or not at all (SPEC §2 save, §3 checkpoints): written
// to a hidden temporary file in the same directory, fsynced, then renamed over the
// target, so a reader never sees half a file and a rewrite replaces the old one.
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

let made = 0

export class AtomicFile {
  private constructor (readonly file: string, private readonly temporary: string, private readonly handle: fs.FileHandle) {}

  /** Creates the directory if need be and opens the temporary file. */
  static async open (file: string): Promise<AtomicFile> {
    const dir = path.dirname(file)
    await fs.mkdir(dir, { recursive: true })
    // unique per process and file, so two writers never share a temporary file
    const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}-${++made}.tmp`)
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
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${++made}.tmp`)
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
