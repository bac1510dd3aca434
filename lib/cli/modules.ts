// Where a command's module lives, found without loading any other command: what lets
// `dstream map` start without importing the forty other operators (about 60 ms of a
// start of 130). The list of every command (registry.ts) is loaded only for the list,
// completion and the generated files. The worker threads of --partitions load their
// operators by these URLs too.
import fs from 'node:fs'
import type { Definition } from '../core/types.js'

const FOLDERS = ['operators', 'sources', 'tools'] as const

/** The URL of the module that exports the command NAME, or undefined when there is no such command. */
export function moduleOf (name: string): string | undefined {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return undefined
  for (const folder of FOLDERS) {
    const url = new URL(`../../${folder}/${name}.js`, import.meta.url)
    // .ts: run from the sources (the tests), where the loader maps .js to .ts
    if (fs.existsSync(url) || fs.existsSync(new URL(`../../${folder}/${name}.ts`, import.meta.url))) return url.href
  }
  return undefined
}

/** The definition of the command NAME, loaded alone. */
export async function definitionOf (name: string): Promise<Definition | undefined> {
  const url = moduleOf(name)
  if (url === undefined) return undefined
  const def = (await import(url)).default as Definition | undefined
  return def?.name === name ? def : undefined
}
