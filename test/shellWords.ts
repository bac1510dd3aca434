// Splits a command line as sh would for the quoting our examples use ('...', "...", \x).
export function shellWords (line: string): string[] {
  const words: string[] = []
  let word: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      word = (word ?? '') + line.slice(i + 1, end)
      i = end
    } else if (c === '"') {
      let j = i + 1
      let text = ''
      for (; line[j] !== '"'; j++) text += line[j] === '\\' ? line[++j] : line[j]
      word = (word ?? '') + text
      i = j
    } else if (c === '\\') {
      word = (word ?? '') + line[++i]
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      word = (word ?? '') + c
    }
  }
  if (word !== undefined) words.push(word)
  return words
}
