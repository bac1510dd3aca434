// bench/fold: the keyed fold alone (lib/ops/keyed.ts), what reduce-by-key does per
// record: 20 million [word, 1] pairs over 10,000 distinct words, in chunks of 10,000
// (a batch chunk of 1,000 ten-word lines after flat-map and map), reduced with sum,
// beside a hand-written Map loop over the same pairs, in this one run.
//   npm run bench:fold            (PAIRS=2000000 npm run bench:fold for a quick look)
// The pairs are made anew, by splitting lines, before every timed run, so that no
// run finds the words' hashes already computed by the one before (V8 caches a
// string's hash in the string). Runs alternate; the best of ROUNDS of each counts.
import { execFileSync } from 'node:child_process'
import { KeyedFold } from '../lib/ops/keyed.js'
import { compileReducer } from '../lib/core/functions.js'
import { DeadLetter } from '../lib/durability/deadLetter.js'
import { OperatorContext } from '../lib/engine/context.js'

const PAIRS = Number(process.env.PAIRS ?? 20_000_000)
const DISTINCT = Number(process.env.DISTINCT ?? 10_000)
const CHUNK = 10_000
const ROUNDS = Number(process.env.ROUNDS ?? 3)

// the lines, made once: ten words each, a skewed choice among DISTINCT words
let seed = 42
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
const vocabulary = Array.from({ length: DISTINCT }, (_, i) => 'w' + (i * 2654435761 % 1e7).toString(36))
const lines: string[] = []
for (let i = 0; i < PAIRS / 10; i++) {
  const words = []
  for (let j = 0; j < 10; j++) words.push(vocabulary[Math.floor(random() * random() * vocabulary.length)])
  lines.push(words.join(' '))
}

/** Chunks of fresh [word, 1] pairs, as flat-map and map hand them on. */
function pairs (): unknown[][] {
  const chunks: unknown[][] = []
  for (let i = 0; i < lines.length; i += CHUNK / 10) {
    const chunk: unknown[] = []
    for (let j = i; j < Math.min(i + CHUNK / 10, lines.length); j++) {
      for (const word of lines[j].split(' ')) chunk.push([word, 1])
    }
    chunks.push(chunk)
  }
  return chunks
}

// the context reduce-by-key is handed (its guard wraps the user function); no record here is bad
const ctx = new OperatorContext({
  name: 'reduce-by-key',
  onError: 'fail',
  onBadInput: 'fail',
  deadLetter: new DeadLetter('/dev/null'),
  stateDir: '',
  scope: {},
  stdout () {},
  stderr () {},
  colour: { stdout: false, stderr: false },
  stderrIsTerminal: false
})

const runs: Record<string, (chunks: unknown[][]) => number> = {
  'KeyedFold.fold, sum': chunks => {
    const fold = new KeyedFold(compileReducer('sum'), ctx)
    for (const chunk of chunks) fold.fold(chunk)
    return fold.take().length
  },
  'KeyedFold.fold, (a, b) => a + b': chunks => {
    const fold = new KeyedFold(compileReducer('(a, b) => a + b'), ctx)
    for (const chunk of chunks) fold.fold(chunk)
    return fold.take().length
  },
  'hand-written Map loop': chunks => {
    const counts = new Map<string, number>()
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++) {
        const pair = chunk[i] as [string, number]
        counts.set(pair[0], (counts.get(pair[0]) ?? 0) + pair[1])
      }
    }
    return [...counts].length
  }
}

const best: Record<string, number> = {}
console.log(`keyed fold: ${PAIRS.toLocaleString('en')} [word, 1] pairs, ${DISTINCT.toLocaleString('en')} distinct words, chunks of ${CHUNK.toLocaleString('en')}, ${execFileSync('nproc').toString().trim()} cores, node ${process.version}; best of ${ROUNDS}, runs alternating`)
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(runs)) {
    let chunks: unknown[][] | undefined = pairs()
    const start = process.hrtime.bigint()
    const keys = run(chunks)
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    chunks = undefined
    if (keys > DISTINCT) throw new Error(`${name}: ${keys} keys`)
    best[name] = Math.min(best[name] ?? Infinity, seconds)
  }
}
const hand = PAIRS / best['hand-written Map loop']
for (const [name, seconds] of Object.entries(best)) {
  const rate = PAIRS / seconds
  console.log(`${name.padEnd(34)} ${seconds.toFixed(2).padStart(6)} s  ${Math.round(rate).toLocaleString('en').padStart(12)} records/s  ${(rate / hand * 100).toFixed(0).padStart(4)}% of the hand loop`)
}
