// --help, the operator list and the man pages, all rendered from the definitions,
// so the three cannot drift apart (STYLE.md 6).
import { commonOptions, metaOf } from './options.js'
import { usageLine } from '../core/errors.js'
import type { Definition, Example, OptionSpec } from '../core/types.js'

export const VERSION = '0.1.0'

function optionLines (options: Record<string, OptionSpec>): Array<[string, string]> {
  return Object.entries(options).map(([key, spec]) => {
    const meta = metaOf(key, spec)
    const alias = spec.alias ? `-${spec.alias}, ` : ''
    const flag = `${alias}--${key}${meta ? ' ' + meta : ''}`
    const dflt = spec.default !== undefined && spec.type !== 'boolean' && !(Array.isArray(spec.default) && spec.default.length === 0)
      ? ` (default: ${spec.default})`
      : ''
    return [flag, `${spec.describe ?? ''}${dflt}`]
  })
}

function exampleLines (ex: Example): string[] {
  const lines = [`$ dstream ${ex.command}`, `    ${ex.describe}`]
  // input and output batches side by side, one batch a line
  const output = ex.output
  if (ex.input && Array.isArray(output)) {
    const width = Math.max(...ex.input.map(b => JSON.stringify(b).length))
    lines.push(...ex.input.map((b, i) => `    ${JSON.stringify(b).padEnd(width)}  =>  ${i < output.length ? JSON.stringify(output[i]) : '(no batch)'}`))
  } else if (ex.input) {
    lines.push(...ex.input.map(b => `    ${JSON.stringify(b)}`))
  }
  if (typeof output === 'string') lines.push('    prints:', ...output.replace(/\n+$/, '').split('\n').map(l => `    | ${l}`))
  return lines
}

function table (rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.min(28, Math.max(...rows.map(([a]) => a.length)) + 2)
  return rows.map(([a, b]) => a.length + 2 > width ? `${indent}${a}\n${indent}${' '.repeat(width)}${b}` : `${indent}${a.padEnd(width)}${b}`).join('\n')
}

export function renderHelp (def: Definition): string {
  const parts = [
    `${usageLine(def)}`,
    `  ${def.summary}${def.spark !== '—' ? `  (Spark: ${def.spark})` : ''}`,
    '',
    def.description.trim()
  ]
  if (def.positionals.length) parts.push('', 'Arguments:', table(def.positionals.map(p => [p.name, p.describe])))
  if (Object.keys(def.options).length) parts.push('', 'Options:', table(optionLines(def.options)))
  parts.push('', 'Common options:', table(optionLines(commonOptions(def))))
  if (def.examples.length) parts.push('', 'Examples:', def.examples.map(ex => exampleLines(ex).map(l => '  ' + l).join('\n')).join('\n\n'))
  parts.push('', `See also: man dstream-${def.name}, dstream (the list of operators)`)
  return parts.join('\n') + '\n'
}

export const GROUPS = ['sources', 'per batch', 'windows', 'state', 'event time', 'outputs', 'tools'] as const

export function renderList (defs: Definition[]): string {
  const lines = [`dstream ${VERSION}: Spark Streaming's DStream operators as Unix commands`, '',
    'Usage: dstream OP [ARGS] [options]            one operator; batches are NDJSON lines on stdin/stdout',
    '       dstream OP ARGS then OP ARGS ...       several operators fused in one process', '']
  for (const group of GROUPS) {
    const members = defs.filter(d => d.group === group)
    if (!members.length) continue
    lines.push(`${group}:`)
    lines.push(table(members.map(d => [usageLine(d).replace(/^dstream /, '').replace(/ \[options\]$/, ''), d.summary])))
    lines.push('')
  }
  lines.push("'dstream OP --help' or 'man dstream-OP' for one operator; 'dstream completion' prints a bash completion script.")
  return lines.join('\n') + '\n'
}

// ---- man pages (roff) ----

function roff (text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').split('\n')
    .map(line => /^[.']/.test(line) ? '\\&' + line : line).join('\n')
}

function paragraphs (text: string): string {
  return text.trim().split(/\n\s*\n/).map(p => {
    // an indented paragraph is shown as written (commands, tables)
    if (/^ {2}/.test(p)) return '.PP\n.nf\n.RS 4\n' + roff(p.replace(/^ {2}/gm, '')) + '\n.RE\n.fi'
    return '.PP\n' + roff(p.replace(/\n/g, ' '))
  }).join('\n')
}

function manOptions (options: Record<string, OptionSpec>): string {
  return optionLines(options).map(([flag, text]) => `.TP\n.B ${roff(flag)}\n${roff(text)}`).join('\n')
}

export function renderMan (def: Definition): string {
  const title = `DSTREAM-${def.name.toUpperCase()}`
  const out = [
    `.TH ${title} 1 "" "dstream ${VERSION}" "dstream manual"`,
    '.SH NAME',
    `dstream\\-${roff(def.name)} \\- ${roff(def.summary)}`,
    '.SH SYNOPSIS',
    `.B ${roff(usageLine(def))}`,
    '.SH DESCRIPTION',
    paragraphs(def.description),
    def.spark !== '—' ? `.PP\nSpark Streaming: ${roff(def.spark)}.` : ''
  ]
  if (def.positionals.length) out.push('.SH ARGUMENTS', def.positionals.map(p => `.TP\n.B ${roff(p.name)}\n${roff(p.describe)}`).join('\n'))
  if (Object.keys(def.options).length) out.push('.SH OPTIONS', manOptions(def.options))
  out.push('.SH COMMON OPTIONS', manOptions(commonOptions(def)))
  out.push('.SH EXIT STATUS', '0 when the input ended and everything was written; 1 on a failure of the system (a command or file); 2 on a usage error; 65 on bad input (a line that is not a batch, a record of the wrong shape, a function that throws) unless it is skipped.')
  if (def.examples.length) {
    out.push('.SH EXAMPLES', def.examples.map(ex => '.PP\n.nf\n.RS 4\n' + roff(exampleLines(ex).join('\n')) + '\n.RE\n.fi').join('\n'))
  }
  out.push('.SH SEE ALSO', '.BR dstream (1)')
  return out.filter(Boolean).join('\n') + '\n'
}

export function renderOverviewMan (defs: Definition[], overview: string): string {
  const out = [
    `.TH DSTREAM 1 "" "dstream ${VERSION}" "dstream manual"`,
    '.SH NAME',
    "dstream \\- Spark Streaming's DStream operators as Unix commands",
    '.SH SYNOPSIS',
    '.B dstream OP [ARGS] [options]',
    '.br',
    '.B dstream OP ARGS then OP ARGS ...',
    '.SH DESCRIPTION',
    paragraphs(overview),
    '.SH OPERATORS'
  ]
  for (const group of GROUPS) {
    const members = defs.filter(d => d.group === group)
    if (!members.length) continue
    out.push(`.SS ${roff(group)}`, members.map(d => `.TP\n.B ${roff(usageLine(d).replace(/^dstream /, '').replace(/ \[options\]$/, ''))}\n${roff(d.summary)} (see \\fBdstream\\-${roff(d.name)}\\fR(1))`).join('\n'))
  }
  out.push('.SH SEE ALSO', defs.map(d => `.BR dstream\\-${roff(d.name)} (1)`).join(',\n'))
  return out.join('\n') + '\n'
}
