// The exit-code policy of SPEC §4: usage 2, bad input 65, anything else 1.
import type { Definition } from './types.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_BAD_INPUT = 65

export class DstreamError extends Error {
  constructor (message: string, readonly exitCode: number) {
    super(message)
    this.name = new.target.name
  }
}

/** A wrong command line: exit 2 with the usage. */
export class UsageError extends DstreamError {
  constructor (message: string) { super(message, EXIT_USAGE) }
}

/** Input that is not what the contract promises: exit 65. */
export class BadInputError extends DstreamError {
  constructor (message: string) { super(message, EXIT_BAD_INPUT) }
}

/** A failure of the world (a command that keeps failing, a file that cannot be written): exit 1. */
export class RuntimeError extends DstreamError {
  constructor (message: string) { super(message, EXIT_FAILURE) }
}

/** Shortens what goes into a message so one bad megabyte line does not flood the terminal. */
export function excerpt (value: unknown, max = 200): string {
  let text: string
  if (typeof value === 'string') text = JSON.stringify(value)
  else {
    try { text = JSON.stringify(value) ?? String(value) } catch { text = String(value) }
  }
  return text.length > max ? text.slice(0, max) + `… (${text.length} chars)` : text
}

/** Where in the stream something happened, for messages: "batch 1700000005000". */
export function at (time: number | undefined): string {
  return time === undefined ? 'before the first batch' : `batch ${time}`
}

/** A usage error of one command: the reason and its usage line, one line each (SPEC §4). */
export function usage (def: Definition, reason: string): UsageError {
  return new UsageError(`dstream ${def.name}: ${reason}\nUsage: ${usageLine(def)}   ('dstream ${def.name} --help' for more)`)
}

/** `dstream NAME ARGS [options]`, from the definition's positionals. */
export function usageLine (def: Definition): string {
  const args = def.positionals.map(p => p.variadic ? `-- ${p.name}...` : p.optional ? `[${p.name}]` : p.name)
  return ['dstream', def.name, ...args, '[options]'].join(' ')
}
