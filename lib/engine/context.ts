// The Context an operator is handed (lib/core/types.ts): the error policy of SPEC §4
// in one place, so an operator only says "this record is bad" or wraps its function.
import { BadInputError, at, excerpt } from '../core/errors.js'
import { SKIP, type BatchInfo, type Context } from '../core/types.js'
import type { DeadLetter } from '../durability/deadLetter.js'

export interface ContextOptions {
  name: string
  onError: 'fail' | 'skip'
  onBadInput: 'fail' | 'skip'
  deadLetter: DeadLetter
  stateDir: string
  scope: Record<string, unknown>
  stdout(text: string): void | Promise<void>
  stderr(text: string): void
  colour: { stdout: boolean, stderr: boolean }
  stderrIsTerminal: boolean
}

export class OperatorContext implements Context {
  batch: BatchInfo | undefined
  readonly name: string
  readonly stateDir: string
  readonly scope: Record<string, unknown>
  readonly stdout: (text: string) => void | Promise<void>
  readonly stderr: (text: string) => void
  readonly colour: { stdout: boolean, stderr: boolean }
  readonly stderrIsTerminal: boolean

  constructor (private readonly o: ContextOptions) {
    this.name = o.name
    this.stateDir = o.stateDir
    this.scope = o.scope
    this.stdout = o.stdout
    this.stderr = o.stderr
    this.colour = o.colour
    this.stderrIsTerminal = o.stderrIsTerminal
  }

  /** "dstream map: batch 1700000005000: " */
  where (time = this.batch?.time): string {
    return `dstream ${this.name}: ${at(time)}: `
  }

  /** At the end: say how much was set aside, so skipping is never silent. */
  reportSetAside (): void {
    const { count, file } = this.o.deadLetter
    if (count > 0) this.stderr(`dstream ${this.name}: ${count} input${count === 1 ? '' : 's'} set aside in ${file}\n`)
  }

  /** Records set aside elsewhere in this operator's name (its --partitions workers), counted for the report. */
  counted (setAside: number): void {
    this.o.deadLetter.count += setAside
  }

  badRecord (record: unknown, reason: string, time = this.batch?.time): void {
    if (this.o.onBadInput === 'skip') {
      this.o.deadLetter.write({ operator: this.name, time, reason, record })
      return
    }
    throw new BadInputError(`${this.where(time)}${reason}: ${excerpt(record)}`)
  }

  setAside (record: unknown, reason: string, time?: number): void {
    this.o.deadLetter.write({ operator: this.name, time, reason, record })
  }

  /** A line that is not a batch; `time` is the last good batch's. */
  badLine (line: string, reason: string, time: number | undefined): void {
    if (this.o.onBadInput === 'skip') {
      this.o.deadLetter.write({ operator: this.name, time, reason, line })
      return
    }
    throw new BadInputError(`dstream ${this.name}: ${time === undefined ? 'before the first batch' : `after batch ${time}`}: ${reason}: ${excerpt(line)}\n  (use --on-bad-input skip to set such lines aside in ${this.o.deadLetter.file})`)
  }

  guard<A extends unknown[], R> (fn: (...args: A) => R): (...args: A) => R | typeof SKIP {
    const arity = Math.max(1, fn.length)
    // Fixed parameters, not rest arguments: this wrapper is on the per-record path.
    return ((a: unknown, b: unknown, c: unknown, d: unknown) => {
      try {
        return (fn as any)(a, b, c, d)
      } catch (err) {
        const args = [a, b, c, d].slice(0, arity)
        const input = arity === 1 ? args[0] : args
        const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
        if (this.o.onError === 'skip') {
          this.o.deadLetter.write({ operator: this.name, time: this.batch?.time, reason: `function threw ${error}`, record: input })
          return SKIP
        }
        throw new BadInputError(`${this.where()}function threw ${error}\n  on ${arity === 1 ? 'record' : 'arguments'} ${excerpt(input)}\n  (use --on-error skip to set such records aside)`)
      }
    }) as any
  }
}
