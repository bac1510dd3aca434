// The hand-written baseline: one Node process reading stdin in blocks, splitting
// lines and words itself, counting in a Map. What a careful user writes without
// dstream; bench/wordcount.ts compares against it.
const counts = new Map<string, number>()
let rest = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (block: string) => {
  const lines = (rest + block).split('\n')
  rest = lines.pop()!
  for (const line of lines) {
    for (const word of line.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1)
  }
}).on('end', () => {
  if (rest) for (const word of rest.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1)
  process.stdout.write(`${counts.size} distinct words\n`)
})
