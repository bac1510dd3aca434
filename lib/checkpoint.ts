// A stateful operator's checkpoint in the state directory (SPEC §3): DIR/NAME/checkpoint.json,
// readable JSON written atomically, holding the definition that wrote it so that
// another definition is refused rather than silently resumed.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { RuntimeError } from './errors.js'
import { canonicalJson } from './keys.js'
import type { OperatorDefinition } from './types.js'

export interface Saved {
  operator: string
  definition: unknown
  /** the last batch folded into the state */
  time: number
  state: unknown
}

/** What identifies an operator's logic: its arguments and its own options (not where its files go). */
export function definitionOf (def: OperatorDefinition, opts: Record<string, unknown>): Record<string, unknown> {
  const identity: Record<string, unknown> = {}
  for (const p of def.positionals) if (opts[p.key] !== undefined) identity[p.key] = opts[p.key]
  for (const key of Object.keys(def.options)) if (opts[key] !== undefined) identity[key] = opts[key]
  return identity
}

/** NAME when not given: the operator and a hash of its definition, e.g. update-state-by-key-1a2b3c4d. */
export function derivedName (operator: string, definition: unknown): string {
  return `${operator}-${createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 8)}`
}

export class Checkpoint {
  readonly file: string

  constructor (readonly stateDir: string, readonly name: string, readonly operator: string, readonly definition: unknown) {
    this.file = path.join(stateDir, name, 'checkpoint.json')
  }

  /** Makes DIR/NAME/, so an unwritable state directory fails at start, not mid-stream. */
  prepare (): void {
    const dir = path.dirname(this.file)
    try {
      fs.mkdirSync(dir, { recursive: true })
      fs.accessSync(dir, fs.constants.W_OK)
    } catch (err) {
      throw new RuntimeError(`dstream ${this.operator}: cannot use the state directory ${dir}: ${(err as Error).message}`)
    }
  }

  /** The saved state, if any; a corrupt file or another definition's is refused, never reset. */
  load (): Saved | undefined {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new RuntimeError(`dstream ${this.operator}: cannot read the checkpoint ${this.file}: ${(err as Error).message}`)
    }
    let saved: Saved
    try {
      saved = JSON.parse(text)
      if (typeof saved !== 'object' || saved === null || !Number.isSafeInteger(saved.time) || !('state' in saved)) throw new Error('not a checkpoint')
    } catch (err) {
      throw new RuntimeError(`dstream ${this.operator}: the checkpoint ${this.file} is corrupt (${(err as Error).message}); it is kept as it is: look at it, or start afresh with 'dstream state reset ${this.name}'`)
    }
    if (saved.operator !== this.operator || canonicalJson(saved.definition) !== canonicalJson(this.definition)) {
      throw new RuntimeError(`dstream ${this.operator}: the checkpoint ${this.file} was written by another definition (${saved.operator} ${canonicalJson(saved.definition)}, now ${this.operator} ${canonicalJson(this.definition)}); run 'dstream state reset ${this.name}' to start afresh, or give this operator another --name`)
    }
    return saved
  }

  /** Writes the state atomically: temporary file, fsync, rename. */
  save (time: number, state: unknown): void {
    const saved: Saved = { operator: this.operator, definition: this.definition, time, state }
    const temporary = `${this.file}.${process.pid}.tmp`
    try {
      const fd = fs.openSync(temporary, 'w')
      try {
        fs.writeSync(fd, JSON.stringify(saved))
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      fs.renameSync(temporary, this.file)
    } catch (err) {
      fs.rmSync(temporary, { force: true })
      throw new RuntimeError(`dstream ${this.operator}: batch ${time}: cannot write the checkpoint ${this.file}: ${(err as Error).message}`)
    }
  }
}
