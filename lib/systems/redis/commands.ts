// What to-redis sends for a record: the commands FN gives (one command, a list of
// them, or [] for none), then those of the shorthand options (--hincrby KEY FIELD N
// and the like), each argument of which is a function of the record. All of it is
// checked here, before anything is sent: a record that gives something that is not
// a command is a bad record, never half a batch.
import { excerpt, usage } from '../../core/errors.js'
import { compileFunction, type UserFunction } from '../../core/functions.js'
import { SKIP, type Context, type Definition, type OptionSpec } from '../../core/types.js'

/** A Redis command: its name, then its arguments, all strings. */
export type Command = string[]

/** The commands that would end or change the MULTI/EXEC each batch is written in, or the connection. */
const NOT_IN_A_TRANSACTION = new Set(['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'SWAPDB', 'RESET', 'QUIT', 'AUTH', 'HELLO', 'CLIENT',
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'MONITOR', 'SYNC', 'PSYNC'])

/** A command name: HINCRBY, hincrby, JSON.SET (a module's). */
const NAME = /^[A-Za-z][\w.|-]*$/

/** One command checked: its arguments as strings; or why it is not a command. */
function commandOf (value: unknown[]): Command | string {
  const [name, ...args] = value
  if (typeof name !== 'string' || !NAME.test(name)) return `${excerpt(value)} is not a command: a command is an array that starts with its name, e.g. ['HINCRBY', key, field, n]`
  if (NOT_IN_A_TRANSACTION.has(name.toUpperCase())) return `${name} is not allowed: each batch is written in one MULTI/EXEC transaction, which ${name} would break`
  const command = [name]
  for (const [i, arg] of args.entries()) {
    if (typeof arg === 'string') command.push(arg)
    else if (typeof arg === 'number' && Number.isFinite(arg)) command.push(String(arg))
    else return `argument ${i + 1} of ${name} is ${excerpt(arg)}: the arguments of a command are strings or numbers`
  }
  return command
}

/** What FN gave, as commands: one command, a list of commands, or [] for none; or why it is not that. */
export function commandsOf (value: unknown): Command[] | string {
  if (!Array.isArray(value)) return `FN gave ${excerpt(value)}: not a command (['HINCRBY', key, field, n]), a list of commands, or [] for none`
  if (value.length === 0) return []
  if (!Array.isArray(value[0])) {
    const one = commandOf(value)
    return typeof one === 'string' ? one : [one]
  }
  const list: Command[] = []
  for (const item of value) {
    const one = Array.isArray(item) ? commandOf(item) : `FN gave a list of commands with ${excerpt(item)} in it, which is not a command`
    if (typeof one === 'string') return one
    list.push(one)
  }
  return list
}

/** An argument's value as the command takes it; undefined: not such a value. */
type Kind = (v: unknown) => string | undefined

const KINDS: Record<string, { what: string, take: Kind }> = {
  name: { what: 'a string or a number', take: v => typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined },
  integer: { what: 'an integer', take: v => Number.isSafeInteger(v) ? String(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? v : undefined },
  number: { what: 'a number', take: v => typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? v : undefined },
  // a value to store: strings as they are, anything else as JSON
  value: { what: 'a value', take: v => v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v) }
}

/** The shorthand options: the command each writes, and its arguments (word and kind), in Redis's order. */
const SHORTHANDS: Record<string, { command: string, args: Array<[string, keyof typeof KINDS]>, describe: string }> = {
  hincrby: { command: 'HINCRBY', args: [['KEY', 'name'], ['FIELD', 'name'], ['N', 'integer']], describe: 'add the integer N to FIELD of the hash KEY' },
  hset: { command: 'HSET', args: [['KEY', 'name'], ['FIELD', 'name'], ['VALUE', 'value']], describe: 'set FIELD of the hash KEY to VALUE (a string as it is, anything else as JSON)' },
  incrby: { command: 'INCRBY', args: [['KEY', 'name'], ['N', 'integer']], describe: 'add the integer N to the number at KEY' },
  set: { command: 'SET', args: [['KEY', 'name'], ['VALUE', 'value']], describe: 'set KEY to VALUE (a string as it is, anything else as JSON)' },
  zincrby: { command: 'ZINCRBY', args: [['KEY', 'name'], ['N', 'number'], ['MEMBER', 'name']], describe: 'add the number N to the score of MEMBER in the sorted set KEY' }
}

export const SHORTHAND_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(Object.entries(SHORTHANDS).map(([key, s]) => [key, {
  type: 'string',
  array: true,
  nargs: s.args.length,
  meta: s.args.map(([word]) => word).join(' '),
  describe: `${s.command}: ${s.describe}; each a function of the record (repeatable)`
}]))

/** The words that are values in JavaScript without naming anything. */
const LITERALS = new Set(['true', 'false', 'null', 'this'])

/**
 * A shorthand's argument compiled. A bare word that names nothing (--incrby total 1)
 * is a usage error: every argument is a function of the record, so a constant key
 * is written in quotes ("'total'"), which is easy to forget.
 */
function compileArgument (def: Definition, source: string, scope: Record<string, unknown>, what: string): UserFunction {
  const word = source.trim()
  if (/^[A-Za-z_$][\w$]*$/.test(word) && word !== '_' && !LITERALS.has(word) && !(word in scope) && !(word in globalThis)) {
    throw usage(def, `${what} ${source} names nothing: each argument is a function of the record, such as _.${word}, or a constant in quotes: "'${word}'"`)
  }
  return compileFunction(source, scope, what)
}

export interface CommandOptions { fn?: string, hincrby?: string[], hset?: string[], incrby?: string[], set?: string[], zincrby?: string[] }

/**
 * The commands of a record at batch time `time`: FN's, then the shorthands' (in
 * the order of SHORTHANDS, each as often as it is given); SKIP when a function
 * threw and --on-error skip set the record aside; a string: why the record is bad.
 */
export type Commands = (record: unknown, time: number) => Command[] | typeof SKIP | string

export function compileCommands (def: Definition, opts: CommandOptions, ctx: Context): Commands {
  const fn = opts.fn === undefined ? undefined : ctx.guard(compileFunction(opts.fn, ctx.scope, 'FN'))
  const shorthands: Array<{ command: string, args: Array<{ word: string, kind: string, take: Kind, fn: (record: unknown, time: number) => unknown }> }> = []
  for (const [key, s] of Object.entries(SHORTHANDS)) {
    const words = (opts as Record<string, string[] | undefined>)[key] ?? []
    for (let i = 0; i < words.length; i += s.args.length) {
      shorthands.push({
        command: s.command,
        args: s.args.map(([word, kind], j) => ({ word, kind: KINDS[kind].what, take: KINDS[kind].take, fn: ctx.guard(compileArgument(def, words[i + j], ctx.scope, `--${key} ${word}`)) }))
      })
    }
  }
  if (!fn && shorthands.length === 0) throw usage(def, `nothing to write: give FN, or one of ${Object.keys(SHORTHANDS).map(k => `--${k}`).join(', ')}`)

  return (record, time) => {
    const commands: Command[] = []
    if (fn) {
      const value = fn(record, time)
      if (value === SKIP) return SKIP
      const given = commandsOf(value)
      if (typeof given === 'string') return given
      commands.push(...given)
    }
    for (const s of shorthands) {
      const command = [s.command]
      for (const arg of s.args) {
        const value = arg.fn(record, time)
        if (value === SKIP) return SKIP
        const taken = arg.take(value)
        if (taken === undefined) return `${s.command} ${arg.word} gave ${excerpt(value)}, not ${arg.kind}`
        command.push(taken)
      }
      commands.push(command)
    }
    return commands
  }
}
