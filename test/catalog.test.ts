// What holds for every operator, checked once over the registry (STYLE.md).
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { registry } from '../lib/cli/registry.js'
import { renderHelp } from '../lib/cli/help.js'
import { expectedFiles, expectedPackageLists } from '../lib/cli/generated.js'
import { GROUPS } from '../lib/cli/help.js'
import { ROOT, runTable, runWords, sh } from './helpers.js'
import { shellWords } from './shellWords.js'

t.test('the registry', async t => {
  const names = registry.map(d => d.name)
  t.same(names, [...names].sort(), 'is alphabetical')
  t.equal(new Set(names).size, names.length, 'has no name twice')
  for (const def of registry) {
    t.ok(GROUPS.includes(def.group as any), `${def.name}: a known group`)
    t.ok(def.summary && def.description.trim() && def.spark, `${def.name}: summary, description, Spark name`)
    t.ok(def.examples.length > 0, `${def.name}: at least one example`)
    const folder = { source: 'sources', operator: 'operators', tool: 'tools' }[def.kind]
    t.ok(fs.existsSync(path.join(ROOT, folder, `${def.name}.ts`)), `${def.name}: lives in ${folder}/${def.name}.ts`)
    t.ok(fs.existsSync(path.join(ROOT, 'test', folder, `${def.name}.test.ts`)), `${def.name}: has its test file`)
  }
})

t.test('generated files are fresh (run npm run generate)', async t => {
  for (const [file, text] of Object.entries(expectedFiles(registry))) {
    const full = path.join(ROOT, file)
    t.equal(fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : '(missing)', text, `${file} is up to date`)
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const lists = expectedPackageLists(registry)
  t.same(pkg.bin, lists.bin, 'package.json bin lists every command')
  t.same(pkg.man, lists.man, 'package.json man lists every page')
})

t.test('help', async t => {
  for (const def of registry) {
    const help = renderHelp(def)
    t.match(help, new RegExp(`^dstream ${def.name}`), `${def.name}: help starts with the usage`)
    t.match(help, /Examples:\n {2}\$ dstream /, `${def.name}: help shows an example`)
    const ran = await sh(`dstream ${def.name} --help && dstream-${def.name} -h`)
    t.equal(ran.stdout, help + help, `${def.name}: dstream ${def.name} --help and dstream-${def.name} -h print it`)
  }
  const list = await sh('dstream')
  t.equal(list.code, 0, 'dstream alone exits 0')
  for (const def of registry) t.match(list.stdout, new RegExp(`^  ${def.name}\\b.*(\\n\\s+)?${def.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'), `dstream lists ${def.name} with its summary`)
})

t.test('examples do what their output says', async t => {
  for (const def of registry) {
    for (const ex of def.examples) {
      if (!ex.input || ex.output === undefined) continue
      const ran = await runTable(shellWords(ex.command), ex.input)
      t.equal(ran.code, 0, `dstream ${ex.command}: exit 0 ${ran.stderr}`)
      if (typeof ex.output === 'string') t.equal(ran.stdout, ex.output, `dstream ${ex.command}: prints what the example says`)
      else t.same(ran.records, ex.output, `dstream ${ex.command}: gives what the example says`)
    }
  }
})

t.test('usage errors exit 2 with a one-line reason and the usage', async t => {
  for (const def of registry) {
    const ran = await runWords([def.name, '--no-such-option', 'x', 'y', 'z'], '')
    t.equal(ran.code, 2, `${def.name}: unknown option exits 2`)
    t.match(ran.stderr, new RegExp(`^dstream ${def.name}: .*\\nUsage: dstream ${def.name}`), `${def.name}: says why, then the usage`)
  }
})

t.test('the README and the completion script know every operator', async t => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const table = readme.slice(readme.indexOf('## Operators'))
  for (const def of registry) t.match(table, new RegExp('`' + def.name + '[ `]'), `README lists ${def.name}`)
  const ran = await sh('dstream completion > completion.bash && . ./completion.bash && COMP_WORDS=(dstream red); COMP_CWORD=1; _dstream; echo "${COMPREPLY[@]}"; COMP_WORDS=(dstream map x then print --n); COMP_CWORD=5; _dstream; echo "${COMPREPLY[@]}"', { cwd: t.testdir() })
  const red = registry.map(d => d.name).filter(n => n.startsWith('red')).join(' ')
  t.equal(ran.stdout, `${red}\n--num --name\n`, 'completes operator names, and the options of the operator after then')
})
