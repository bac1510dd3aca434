// Writes what is derived from the definitions: man/dstream-OP.1, man/dstream.1,
// the bin/dstream-OP shims and package.json's "bin" and "man" lists.
// `npm run generate` after adding or changing an operator; test/catalog.test.ts
// fails while any of them is stale.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { registry } from '../lib/cli/registry.js'
import { expectedFiles, expectedPackageLists } from '../lib/cli/generated.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

for (const [file, text] of Object.entries(expectedFiles(registry))) {
  const full = path.join(root, file)
  fs.mkdirSync(path.dirname(full), { recursive: true })
  fs.writeFileSync(full, text, { mode: file.startsWith('bin/') ? 0o755 : 0o644 })
}
const pkgFile = path.join(root, 'package.json')
const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'))
Object.assign(pkg, expectedPackageLists(registry))
fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n')
console.log(`generated ${registry.length} man pages and shims`)
