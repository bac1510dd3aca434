// The dead-letter file of SPEC §4: what `--on-bad-input skip` and `--on-error skip`
// set aside, one JSON object a line, appended, so nothing is lost silently.
import fs from 'node:fs'
import path from 'node:path'
import { RuntimeError } from '../core/errors.js'

export class DeadLetter {
  count = 0
  constructor (readonly file: string) {}

  write (entry: { operator: string, time?: number, reason: string, record?: unknown, line?: string }): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true })
      fs.appendFileSync(this.file, JSON.stringify(entry) + '\n')
    } catch (err) {
      throw new RuntimeError(`dstream ${entry.operator}: cannot write the dead-letter file ${this.file}: ${(err as Error).message}`)
    }
    this.count++
  }
}
