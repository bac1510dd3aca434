// How Spark shows a record: a Scala tuple as (k,v), a string bare, anything else as JSON.
export function showRecord (record: unknown): string {
  if (typeof record === 'string') return record
  if (Array.isArray(record) && record.length === 2) return `(${showRecord(record[0])},${showRecord(record[1])})`
  return JSON.stringify(record) ?? String(record)
}

/** A record as a line of text (save, foreach --text): a string bare, anything else as JSON. */
export function plainText (record: unknown): string {
  return typeof record === 'string' ? record : JSON.stringify(record)
}

/** A command line as a shell would need it typed: `sh -c 'wc -l'`. */
export function shellQuote (words: string[]): string {
  return words.map(w => /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`).join(' ')
}
