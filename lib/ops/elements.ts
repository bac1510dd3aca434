// What a flat-map function returns (flat-map, flat-map-values): an array or any
// other iterable (a Set, a generator). A string is refused rather than split into
// characters, which is never what `_.split(" ")` minus the split meant.

/** The elements to emit, or undefined when FN's result is not a collection. */
export function elementsOf (value: unknown): Iterable<unknown> | undefined {
  if (Array.isArray(value)) return value
  if (value != null && typeof value !== 'string' && typeof (value as any)[Symbol.iterator] === 'function') return value as Iterable<unknown>
  return undefined
}

/** The bad-record reason for a result that is not a collection. */
export function notElements (value: unknown): string {
  return `FN must return an array, it returned ${typeof value === 'string' ? 'a string' : JSON.stringify(value)} for`
}
