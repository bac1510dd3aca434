// One member of a pipeline in the state directory (SPEC §3): DIR/NAME/ with a
// meta.json saying what wrote it (operator, role, definition). The roles are what
// the restart protocol reads (lib/durability/pipeline.ts): sources keep a log of the batches
// they emitted, stateful operators keep versions of their state, sinks keep the
// last batch they committed. A directory written by another definition is refused.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { RuntimeError } from '../core/errors.js'
import { canonicalJson } from '../core/keys.js'
import { maskUrl } from '../core/secrets.js'
import { writeFileAtomic } from './atomicFile.js'
import type { Definition } from '../core/types.js'

export type Role = 'source' | 'state' | 'sink'

export interface Meta {
  operator: string
  role: Role
  definition: unknown
}

/**
 * What identifies an operator's logic: its arguments and its own options (not where
 * its files go). A URL marked secret is kept with its password masked: the
 * definition is written to meta.json and shown by `dstream state show`.
 */
export function definitionOf (def: Definition, opts: Record<string, unknown>): Record<string, unknown> {
  const identity: Record<string, unknown> = {}
  const keep = (key: string, secret: boolean | undefined) => { identity[key] = secret && typeof opts[key] === 'string' ? maskUrl(opts[key] as string) : opts[key] }
  for (const p of def.positionals) if (opts[p.key] !== undefined) keep(p.key, p.secret)
  for (const [key, spec] of Object.entries(def.options)) if (opts[key] !== undefined && !spec.runOnly) keep(key, spec.secret)
  return identity
}

/** NAME when not given: the operator and a hash of its definition, e.g. update-state-by-key-1a2b3c4d. */
export function derivedName (operator: string, definition: unknown): string {
  return `${operator}-${createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 8)}`
}

/** NAME in DIR/NAME/: --name, else derived from the definition. */
export function nameOf (def: Definition, opts: Record<string, any>): string {
  return opts.name ?? derivedName(def.name, definitionOf(def, opts))
}

export class Component {
  readonly dir: string

  constructor (readonly stateDir: string, readonly name: string, readonly meta: Meta) {
    // absolute: files point at each other by path, whatever the working directory
    this.dir = path.resolve(stateDir, name)
  }

  static of (def: Definition, opts: Record<string, any>, role: Role): Component {
    return new Component(opts.stateDir, nameOf(def, opts), { operator: def.name, role, definition: definitionOf(def, opts) })
  }

  get operator (): string { return this.meta.operator }

  /**
   * Makes DIR/NAME/ and claims it, so an unwritable state directory fails at start,
   * not mid-stream, and another definition's state is refused before anything runs.
   */
  prepare (): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true })
      fs.accessSync(this.dir, fs.constants.W_OK)
    } catch (err) {
      throw new RuntimeError(`dstream ${this.operator}: cannot use the state directory ${this.dir}: ${(err as Error).message}`)
    }
    const file = path.join(this.dir, 'meta.json')
    const found = readMeta(this.dir)
    if (found === 'corrupt') throw this.refusal(`${file} is corrupt`)
    if (found) {
      if (found.operator !== this.operator || found.role !== this.meta.role || canonicalJson(found.definition) !== canonicalJson(this.meta.definition)) {
        throw this.refusal(`${this.dir} holds the state of another definition (${found.operator} ${canonicalJson(found.definition)}, now ${this.operator} ${canonicalJson(this.meta.definition)})`)
      }
      return
    }
    writeFileAtomic(file, JSON.stringify(this.meta) + '\n')
  }

  /** The error for state that must not be used as it is: it is kept, and the user told how to go on. */
  refusal (what: string): RuntimeError {
    return new RuntimeError(`dstream ${this.operator}: ${what}; it is kept as it is: look at it, run 'dstream state reset ${this.name}' to start afresh, or give this operator another --name`)
  }

  file (base: string): string { return path.join(this.dir, base) }
}

/** DIR/NAME/meta.json, undefined when there is none (not a member), 'corrupt' when unreadable. */
export function readMeta (dir: string): Meta | undefined | 'corrupt' {
  let text: string
  try {
    text = fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')
  } catch {
    return undefined
  }
  try {
    const meta = JSON.parse(text)
    if (typeof meta?.operator !== 'string' || !['source', 'state', 'sink'].includes(meta.role)) return 'corrupt'
    return meta
  } catch {
    return 'corrupt'
  }
}
