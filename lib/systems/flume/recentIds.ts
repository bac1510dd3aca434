// The ids of the last events taken (--id-header), so that an event a Flume sink sends
// again is known and dropped: a sink sends a batch again when it did not see its
// answer (dstream flume killed after logging it, or the answer lost on the way).
// Kept in memory and in DIR/NAME/ids.log, one id a line, appended before the answer
// goes; the file is rewritten with the last `limit` ids once it holds twice as many.
// A sink sends again soon, so the last `limit` ids are the ones that matter.
import fs from 'node:fs'
import { writeFileAtomic } from '../../durability/atomicFile.js'
import { RuntimeError } from '../../core/errors.js'

export class RecentIds {
  private readonly ids = new Set<string>()
  private order: string[] = []
  private lines: number

  private constructor (private readonly file: string, private readonly limit: number, private readonly operator: string) {
    let text = ''
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new RuntimeError(`dstream ${operator}: cannot read ${file}: ${(err as Error).message}`)
    }
    const all = text.split('\n').filter(id => id !== '')
    this.lines = all.length
    for (const id of all.slice(-limit)) this.remember(id)
  }

  static open (file: string, limit: number, operator: string): RecentIds {
    return new RecentIds(file, limit, operator)
  }

  has (id: string): boolean { return this.ids.has(id) }

  get size (): number { return this.ids.size }

  /** Remembers the ids not known yet, in memory and in the file. */
  add (ids: string[]): void {
    const fresh = ids.filter(id => !this.ids.has(id))
    if (fresh.length === 0) return
    for (const id of fresh) this.remember(id)
    try {
      fs.appendFileSync(this.file, fresh.join('\n') + '\n')
      this.lines += fresh.length
      if (this.lines > 2 * this.limit) {
        writeFileAtomic(this.file, this.order.join('\n') + '\n')
        this.lines = this.order.length
      }
    } catch (err) {
      throw new RuntimeError(`dstream ${this.operator}: cannot write ${this.file}: ${(err as Error).message}`)
    }
  }

  private remember (id: string): void {
    if (this.ids.has(id)) return
    this.ids.add(id)
    this.order.push(id)
    if (this.order.length > this.limit * 1.25) {
      // forget the oldest in one go, not one at a time
      for (const old of this.order.splice(0, this.order.length - this.limit)) this.ids.delete(old)
    }
  }
}
