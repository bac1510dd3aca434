// The shape of the code (lib/README.md): which folder may import which. The rules
// are read from the table in lib/README.md, so the map and the check cannot drift.
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import t from 'tap'
import ts from 'typescript'
import { ROOT } from './helpers.js'

interface Rules {
  /** lib folder → the lib folders it may import ('*': any) and the packages it may import */
  folders: Map<string, { folders: Set<string> | '*', packages: Set<string> }>
}

/** The table of lib/README.md: | `folder/` | what | imports from lib/ | packages | */
function readRules (readme: string): Rules {
  const folders: Rules['folders'] = new Map()
  for (const line of readme.split('\n')) {
    const cells = line.split('|').slice(1, -1).map(c => c.trim())
    const name = /^`([a-z]+(?:\/[a-z]+)?)\/`$/.exec(cells[0] ?? '')?.[1]
    if (!name || cells.length !== 4) continue
    const list = (cell: string) => cell === '—' ? [] : cell.split(',').map(w => w.trim().replace(/`/g, ''))
    folders.set(name, {
      folders: cells[2] === 'every folder' ? '*' : new Set([name, ...list(cells[2])]),
      packages: new Set(list(cells[3]))
    })
  }
  return { folders }
}

/** Every module a file names: imports, re-exports, import() and import('...') types. */
function specifiersOf (file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) found.push(node.arguments[0].text)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) found.push(node.argument.literal.text)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const BUILTIN = new Set(builtinModules)
const packageOf = (spec: string) => spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]

/** Where a repository path stands: a lib folder ('lib/core', 'lib/systems/kafka'), or a top folder ('operators'). */
function placeOf (file: string): string {
  const parts = file.split('/')
  if (parts[0] !== 'lib' || parts.length < 3) return parts[0]
  return parts[1] === 'systems' && parts.length > 3 ? `lib/systems/${parts[2]}` : `lib/${parts[1]}`
}

/**
 * The imports that break the rules, as "FILE: imports SPEC (why)". `files` maps
 * repository paths (lib/core/wire.ts) to their text.
 */
export function wrongWayImports (files: Map<string, string>, rules: Rules): string[] {
  const wrong: string[] = []
  for (const [file, text] of files) {
    const place = placeOf(file)
    for (const spec of specifiersOf(file, text)) {
      const say = (why: string) => wrong.push(`${file}: imports '${spec}' (${why})`)
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec))
        const to = placeOf(target)
        if (place.startsWith('lib/')) {
          const rule = rules.folders.get(place.slice(4))
          if (!rule) { say(`${place}/ is not in lib/README.md's table`); continue }
          if (to.startsWith('lib/')) {
            const folder = to.slice(4)
            if (rule.folders !== '*' && !rule.folders.has(folder)) say(`${place}/ may not import lib/${folder}/`)
          } else if (!(file === 'lib/cli/registry.ts' && ['operators', 'sources', 'tools'].includes(to))) {
            say(`lib/ never imports ${to}/; only lib/cli/registry.ts names the commands`)
          }
        } else if (to === 'lib/cli') {
          say(`${place}/ stands below the command line: it may not import lib/cli/`)
        } else if (!to.startsWith('lib/') && to !== place) {
          say(`${place}/ imports lib/ only, not ${to}/`)
        } else if (to === place) {
          say(`${place}/ files do not import one another; what two share belongs in lib/`)
        }
      } else if (!spec.startsWith('node:') && !BUILTIN.has(spec) && place.startsWith('lib/')) {
        const rule = rules.folders.get(place.slice(4))
        if (rule && !rule.packages.has(packageOf(spec))) say(`${place}/ may not use the package ${packageOf(spec)}; lib/README.md names the packages each folder uses`)
      }
    }
  }
  return wrong
}

function sourcesUnder (dirs: string[]): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(rel)
      else if (entry.name.endsWith('.ts')) files.set(rel, fs.readFileSync(path.join(ROOT, rel), 'utf8'))
    }
  }
  for (const dir of dirs) walk(dir)
  return files
}

const readme = fs.readFileSync(path.join(ROOT, 'lib/README.md'), 'utf8')
const rules = readRules(readme)
const code = sourcesUnder(['lib', 'operators', 'sources', 'tools'])

t.test('lib/ has a few folders, each named in lib/README.md', async t => {
  const isFolder = (rel: string) => fs.statSync(path.join(ROOT, 'lib', rel)).isDirectory()
  const entries = fs.readdirSync(path.join(ROOT, 'lib'))
  // about a dozen: a folder per concern, the outside systems in one, and the map
  t.ok(entries.length <= 12, `at most about 12 entries at lib/'s top (${entries.join(' ')})`)
  const systems = fs.readdirSync(path.join(ROOT, 'lib/systems'))
  t.same(systems.filter(e => !isFolder(`systems/${e}`)), [], 'lib/systems/ holds a folder per system and nothing else')
  const folders = [...entries.filter(e => e !== 'systems' && isFolder(e)), ...systems.map(e => `systems/${e}`)]
  t.same(folders.filter(f => !rules.folders.has(f)), [], 'every folder has its row in the table')
  t.same([...rules.folders.keys()].filter(f => !folders.includes(f)), [], 'every row is a folder')
  t.same(entries.filter(e => !isFolder(e) && e !== 'README.md'), [], 'no loose files at the top: each has a folder')
})

t.test('imports point one way', async t => {
  for (const dir of ['operators', 'sources', 'tools', ...[...rules.folders.keys()].map(f => `lib/${f}`)]) {
    t.ok([...code.keys()].some(file => file.startsWith(dir + '/')), `${dir}/ is read`)
  }
  t.same(wrongWayImports(code, rules), [], 'no import goes against lib/README.md')
})

t.test('a wrong-way import is caught', async t => {
  const wrong = (file: string, text: string) => wrongWayImports(new Map([...code, [file, text]]), rules)
  t.match(wrong('lib/core/bad.ts', "import { main } from '../cli/main.js'"), [/lib\/core\/ may not import lib\/cli\//], 'core reaching up to the command line')
  t.match(wrong('lib/core/bad.ts', "export type { Feed } from '../intake/replayable.js'"), [/may not import lib\/intake\//], 'a re-export counts')
  t.match(wrong('lib/durability/bad.ts', "type K = import('../systems/kafka/batches.js').KafkaBatches"), [/may not import lib\/systems\/kafka\//], 'an import() type counts')
  t.match(wrong('lib/ops/bad.ts', "import map from '../../operators/map.js'"), [/lib\/ never imports operators\//], 'lib/ importing an operator')
  t.match(wrong('lib/engine/bad.ts', "import { Kafka } from 'kafkajs'"), [/may not use the package kafkajs/], 'a system package outside its folder')
  t.match(wrong('operators/bad.ts', "import map from './map.js'"), [/do not import one another/], 'an operator importing another')
  t.match(wrong('sources/bad.ts', "import { parseArgs } from '../lib/cli/args.js'"), [/may not import lib\/cli\//], 'a source importing the command line')
  t.same(wrong('lib/cli/registry.ts', "import map from '../../operators/map.js'"), [], 'the registry names the commands')
  t.same(wrong('lib/systems/kafka/good.ts', "import fs from 'node:fs'\nimport { Kafka } from 'kafkajs'\nimport { Component } from '../../durability/component.js'"), [], 'what a row allows')
  t.match(wrong('lib/systems/sql/bad.ts', "import { KafkaBatches } from '../kafka/batches.js'"), [/lib\/systems\/sql\/ may not import lib\/systems\/kafka\//], 'one system reaching into another')
})

t.test("listing the commands loads no system's library (STYLE 7: heavy dependencies load inside init)", async t => {
  const { execFileSync } = await import('node:child_process')
  const heavy = ['kafkajs', 'avsc', 'ioredis', 'mysql2', 'pg', 'better-sqlite3', '@duckdb/node-api']
  // a fresh process: what importing the registry loads, and nothing else
  const script = `const { createRequire } = await import('node:module'); await import(${JSON.stringify(path.join(ROOT, 'dist/lib/cli/registry.js'))}); console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)))`
  const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH } }).toString())
  t.same(heavy.filter(name => loaded.some(file => file.includes(`/node_modules/${name}/`))), [], 'none of them is loaded')
})
