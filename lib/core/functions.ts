// User logic on the command line (SPEC §2 "Functions"): a function expression
// ('w => [w, 1]', 'function (r) { return r.ip }'), or an expression in `_`
// ('_.split(" ")'). Reducers also take the built-in names sum, min, max, concat, count.
// `--require FILE` modules' exports are in scope of every function.
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { UsageError } from './errors.js'

export type UserFunction = (...args: any[]) => any

// A source that is syntactically a function: `function`, `async`, `(...) =>`, `x =>`.
const FUNCTION_SOURCE = /^\s*(?:async\b\s*)?(?:function\b|\([^]*?\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/
const IDENTIFIER = /^\s*[A-Za-z_$][\w$]*\s*$/

export function compileFunction (source: string, scope: Record<string, unknown> = {}, what = 'function'): UserFunction {
  const names = Object.keys(scope).filter(n => /^[A-Za-z_$][\w$]*$/.test(n))
  const values = names.map(n => scope[n])
  const isFunction = FUNCTION_SOURCE.test(source)
  // A bare name of a function from --require is that function, not an `_` expression.
  if (IDENTIFIER.test(source) && typeof scope[source.trim()] === 'function') return scope[source.trim()] as UserFunction
  const body = isFunction ? `return (${source}\n)` : `return (_) => (${source}\n)`
  let made: unknown
  try {
    // eslint-disable-next-line no-new-func
    made = new Function(...names, `"use strict";\n${body}`)(...values)
  } catch (err) {
    throw new UsageError(`${what} does not compile: ${source}\n  ${(err as Error).name}: ${(err as Error).message}`)
  }
  if (typeof made !== 'function') throw new UsageError(`${what} is not a function: ${source}`)
  return made as UserFunction
}

/**
 * A reducer as the aggregating operators use it: `lift` turns the first value
 * into an accumulator, `add` folds one more value in, `merge` joins two
 * accumulators (windows, later). For a user function f all three are f (lift is identity).
 */
export interface Reducer {
  lift(value: unknown): unknown
  add(acc: unknown, value: unknown): unknown
  merge(a: unknown, b: unknown): unknown
}

const concat = (a: any, b: any) => Array.isArray(a) ? a.concat(b) : String(a) + String(b)

export const BUILTIN_REDUCERS: Record<string, Reducer & { describe: string }> = {
  sum: { describe: 'a + b of numbers', lift: v => v, add: (a: any, b: any) => a + b, merge: (a: any, b: any) => a + b },
  min: { describe: 'the smallest value', lift: v => v, add: (a: any, b: any) => (b < a ? b : a), merge: (a: any, b: any) => (b < a ? b : a) },
  max: { describe: 'the largest value', lift: v => v, add: (a: any, b: any) => (b > a ? b : a), merge: (a: any, b: any) => (b > a ? b : a) },
  concat: { describe: 'arrays concatenated, anything else joined as strings', lift: v => v, add: concat, merge: concat },
  count: { describe: 'the number of values', lift: () => 1, add: (a: any) => a + 1, merge: (a: any, b: any) => a + b }
}

/** Why a built-in reducer cannot take this value (sum of a string), or undefined when it can. */
export function builtinRefusal (name: string | undefined, value: unknown): string | undefined {
  if (name === 'sum' && typeof value !== 'number') return 'sum needs numbers'
  if ((name === 'min' || name === 'max') && typeof value !== 'number' && typeof value !== 'string') return `${name} needs numbers or strings`
  return undefined
}

type Check = (value: unknown) => string | undefined
const numbers: Check = value => typeof value === 'number' ? undefined : 'sum needs numbers'
const ordered = (name: string): Check => value => typeof value === 'number' || typeof value === 'string' ? undefined : `${name} needs numbers or strings`
const CHECKS: Record<string, Check> = { sum: numbers, min: ordered('min'), max: ordered('max') }

/**
 * builtinRefusal decided once for a reducer rather than per value: the check its
 * values must pass (the same refusals), or undefined when any value will do.
 */
export function builtinCheck (name: string | undefined): Check | undefined {
  return name !== undefined && Object.hasOwn(CHECKS, name) ? CHECKS[name] : undefined
}

export function compileReducer (source: string, scope: Record<string, unknown> = {}): Reducer & { builtin?: string } {
  const builtin = BUILTIN_REDUCERS[source.trim()]
  if (builtin) return { ...builtin, builtin: source.trim() }
  const fn = compileFunction(source, scope, 'reduce function')
  return { lift: v => v, add: fn, merge: fn }
}

/** Loads `--require` modules; their exports (and a module's default export's keys) become the scope. */
export async function loadScope (files: string[]): Promise<Record<string, unknown>> {
  const scope: Record<string, unknown> = {}
  for (const file of files) {
    const full = path.resolve(file)
    let mod: Record<string, unknown>
    try {
      // import() reads both ES and CommonJS modules; JSON needs require
      mod = full.endsWith('.json')
        ? { default: createRequire(import.meta.url)(full) }
        : await import(pathToFileURL(full).href)
    } catch (err) {
      throw new UsageError(`--require ${file}: ${(err as Error).message}`)
    }
    const { default: def, ...named } = mod
    if (def && typeof def === 'object') Object.assign(scope, def)
    Object.assign(scope, named)
  }
  return scope
}
