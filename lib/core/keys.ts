// Pair records are [k, v]; keys compare by value (SPEC §1). keyOf gives a string
// usable in a Map: a string key stands for itself (the common case, no copy);
// any other key, and a string that would collide, becomes "\0" + canonical JSON.
// Canonical JSON sorts object keys, so {a:1,b:2} and {b:2,a:1} are one key.

export function keyOf (key: unknown): string {
  if (typeof key === 'string' && key.charCodeAt(0) !== 0) return key
  // a finite number's JSON is its String(), and the concatenation makes it: no walk
  if (typeof key === 'number' && Number.isFinite(key)) return '\u0000' + key
  return '\u0000' + canonicalJson(key)
}

export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']'
  const obj = value as Record<string, unknown>
  return '{' + Object.keys(obj).sort().filter(k => obj[k] !== undefined)
    .map(k => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}'
}

export function isPair (record: unknown): record is [unknown, unknown] {
  return Array.isArray(record) && record.length === 2
}
