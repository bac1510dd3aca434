// The command-line adapter: words → the options object an operator's init takes.
// yargs parses; the usage text comes from the definition (usage() in lib/core/errors.ts), never from yargs.
import yargs from 'yargs'
import { UsageError, usage } from '../core/errors.js'
import { commonOptions } from './options.js'
import type { Common, Definition } from '../core/types.js'

export function wantsHelp (words: string[]): boolean {
  const end = words.indexOf('--')
  return (end < 0 ? words : words.slice(0, end)).some(w => w === '--help' || w === '-h')
}

/** Parses one operator's words; throws UsageError (exit 2) with the reason. */
export function parseArgs (def: Definition, words: string[], env: NodeJS.ProcessEnv = process.env): Record<string, any> & Common {
  let argv: Record<string, any>
  try {
    argv = yargs(words)
      .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false, 'strip-aliased': true })
      .options({ ...commonOptions(def), ...def.options })
      .strictOptions()
      .help(false)
      .version(false)
      .exitProcess(false)
      .fail((msg, err) => { throw new UsageError(msg ?? err?.message ?? 'bad command line') })
      .parseSync()
  } catch (err) {
    // yargs' reasons can span lines (Invalid values:\n  Argument: ...): one line, as SPEC §4 asks
    throw usage(def, (err as Error).message.replace(/:?\s*\n\s*/g, ': '))
  }
  const words_ = (argv._ as Array<string | number>).map(String)
  const rest = ((argv['--'] ?? []) as Array<string | number>).map(String)
  const opts: Record<string, any> = { ...argv }
  delete opts._
  delete opts['--']
  delete opts.$0
  for (const p of def.positionals) {
    if (p.variadic) {
      opts[p.key] = [...words_.splice(0), ...rest.splice(0)]
      if (!p.optional && opts[p.key].length === 0) throw usage(def, `missing ${p.name}`)
    } else if (words_.length) {
      opts[p.key] = words_.shift()
    } else if (!p.optional) {
      throw usage(def, `missing ${p.name}`)
    }
  }
  const extra = [...words_, ...rest]
  if (extra.length) throw usage(def, `unexpected argument '${extra[0]}'`)
  // a repeated string option arrives as an array; --require is always one
  opts.require = opts.require === undefined ? [] : [].concat(opts.require)
  opts.stateDir ??= env.DSTREAM_STATE_DIR || './.dstream'
  for (const [key, spec] of Object.entries({ ...commonOptions(def), ...def.options })) {
    if (Array.isArray(opts[key]) && !spec.array && key !== 'require') {
      throw usage(def, `--${key} given more than once`)
    }
  }
  return opts as Record<string, any> & Common
}
