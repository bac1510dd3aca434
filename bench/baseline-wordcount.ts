// The hand-written baseline: one Node process, lines split into words, counted in a Map.
// What a user would write without dstream; bench/wordcount.ts compares against it.
import split2 from 'split2'

const counts = new Map<string, number>()
process.stdin.pipe(split2()).on('data', (line: string) => {
  for (const word of line.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1)
}).on('end', () => {
  process.stdout.write(`${counts.size} distinct words\n`)
})
