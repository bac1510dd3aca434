import { PassThrough } from 'node:stream'
import t from 'tap'
import { parseChain } from '../../lib/cli/main.js'
import { run } from '../../lib/engine/runner.js'
import { batchLines, runTable, runWords, sh } from '../helpers.js'

const RULE = '-------------------------------------------'
const header = (time: number) => `${RULE}\nTime: ${time} ms\n${RULE}\n`

t.test('cases', async t => {
  const cases: Array<[string, string[], unknown[][], string]> = [
    ["Spark's format", [], [[['hello', 3], ['world', 1]]], `${header(1000)}(hello,3)\n(world,1)\n\n`],
    ['strings bare, other values as JSON', [], [['a b', 1, null, { k: 'v' }, [1, 2, 3], true]], `${header(1000)}a b\n1\nnull\n{"k":"v"}\n[1,2,3]\ntrue\n\n`],
    ['pairs inside pairs, keys of any kind', [], [[[['x', 2], 1], [{ a: 1 }, [1, 2, 3]]]], `${header(1000)}((x,2),1)\n({"a":1},[1,2,3])\n\n`],
    ['at most 10 records, then ...', [], [Array.from({ length: 12 }, (_, i) => i)], `${header(1000)}${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].join('\n')}\n...\n\n`],
    ['exactly 10: no ...', [], [Array.from({ length: 10 }, (_, i) => i)], `${header(1000)}${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].join('\n')}\n\n`],
    ['--num', ['--num', '2'], [['a', 'b', 'c'], ['d', 'e']], `${header(1000)}a\nb\n...\n\n${header(2000)}d\ne\n\n`],
    ['-n 0: headers only', ['-n', '0'], [['a'], []], `${header(1000)}...\n\n${header(2000)}\n`]
  ]
  for (const [name, args, input, expected] of cases) {
    const ran = await runTable(['print', ...args], input)
    t.equal(ran.code, 0, `${name}: exit 0`)
    t.equal(ran.stdout, expected, name)
  }
})

t.test('edge cases', async t => {
  const empty = await runTable(['print'], [[], ['x'], []], { interval: 5000 })
  t.equal(empty.stdout, `${header(5000)}\n${header(10000)}x\n\n${header(15000)}\n`, 'empty batches print their header: the clock')

  const records = Array.from({ length: 15 }, (_, i) => `r${i}`)
  const whole = await runTable(['print'], [records, ['y']])
  for (const chunk of [1, 4, 10]) {
    const chunked = await runTable(['print'], [records, ['y']], { chunk })
    t.equal(chunked.stdout, whole.stdout, `a batch in chunks of ${chunk} prints the same text`)
  }

  const none = await runTable(['print'], [])
  t.same([none.code, none.stdout], [0, ''], 'no input: nothing printed, exit 0')
  const open = await runWords(['print'], '{"time":1000,"interval":1000,"records":["a"],"more":true}\n')
  t.equal(open.code, 1, 'input ending inside a batch (the command before died): exit 1')
  t.equal(open.stdout, `${header(1000)}a\n`, 'what came was printed as it came, and the batch is never closed')
})

t.test('--pass', async t => {
  const input = [['a', 'b', 'c'], []]
  const ran = await runTable(['print', '--pass', '-n', '2'], input, { chunk: 2 })
  t.same(ran.records, input, 'the batches go on unchanged on stdout')
  t.equal(ran.chunks.length, 3, 'chunk by chunk')
  t.equal(ran.stderr, `${header(1000)}a\nb\n...\n\n${header(2000)}\n`, 'the text goes to stderr')

  const piped = await sh("dstream print --pass | dstream map '_.toUpperCase()' | dstream print", { input: batchLines([['x']]) })
  t.equal(piped.code, 0)
  t.equal(piped.stderr, `${header(1000)}x\n\n`, 'in the middle of a pipeline')
  t.equal(piped.stdout, `${header(1000)}X\n\n`)
})

t.test('colour', async t => {
  /** print's output when stdout (or stderr) is a terminal, with this environment */
  async function onTerminal (words: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string, stderr: string }> {
    const streams = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }
    Object.assign(streams.stdout, { isTTY: true })
    Object.assign(streams.stderr, { isTTY: true })
    const text = { stdout: '', stderr: '' }
    streams.stdout.on('data', d => { text.stdout += d })
    streams.stderr.on('data', d => { text.stderr += d })
    streams.stdin.end(batchLines([['a']]))
    t.equal(await run(await parseChain(words), { ...streams, env }), 0)
    return text
  }
  const ESC = /\x1b\[/
  t.match((await onTerminal(['print'], {})).stdout, ESC, 'on a terminal: colour')
  t.match((await onTerminal(['print', '--pass'], {})).stderr, ESC, 'with --pass, when stderr is a terminal')
  const noColour = await onTerminal(['print'], { NO_COLOR: '' })
  t.equal(noColour.stdout, `${header(1000)}a\n\n`, 'never with NO_COLOR, even empty')

  const piped = await runTable(['print'], [['a']])
  t.notMatch(piped.stdout, ESC, 'not a terminal: no colour')
  const real = await sh('dstream print | cat', { input: batchLines([['a']]), env: { NO_COLOR: undefined } })
  t.equal(real.stdout, `${header(1000)}a\n\n`, 'a real pipe, NO_COLOR unset: no colour')
})

t.test('bad input', async t => {
  const ran = await runWords(['print'], batchLines([['a']]) + '{"time":500,"interval":500,"records":[]}\n')
  t.equal(ran.code, 65, 'a batch out of order: exit 65')
  t.match(ran.stderr, /^dstream print: after batch 1000: batch time goes backwards: 500 after 1000/, 'names the operator and the batch')
  t.equal(ran.stdout, `${header(1000)}a\n\n`, 'what came before was printed')
})

t.test('usage errors', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['print', '--num', '-1'], /--num must be a whole number, got -1/],
    [['print', '--num', '1.5'], /--num must be a whole number, got 1.5/],
    [['print', 'extra'], /unexpected argument 'extra'/]
  ]
  for (const [words, why] of cases) {
    const ran = await runWords(words, '')
    t.equal(ran.code, 2, `${words.join(' ')}: exit 2`)
    t.match(ran.stderr, why)
    t.match(ran.stderr, /\nUsage: dstream print \[options\]/)
  }
})
