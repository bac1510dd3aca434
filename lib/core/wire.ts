// The wire format of SPEC §1: one JSON object per line, a chunk of a batch.
import type { Chunk } from './types.js'

const KNOWN = new Set(['time', 'interval', 'records', 'more'])

/** Parses one line; returns the chunk, or a string saying what is wrong with it. */
export function parseChunk (line: string): Chunk | string {
  let value: any
  try {
    value = JSON.parse(line)
  } catch (err) {
    return `not JSON (${(err as Error).message})`
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a batch: expected a JSON object with time, interval and records'
  const { time, interval, records, more } = value
  if (!Number.isSafeInteger(interval) || interval <= 0) return `not a batch: "interval" must be a positive integer of ms, got ${JSON.stringify(interval)}`
  if (!Number.isSafeInteger(time)) return `not a batch: "time" must be an integer of ms since the epoch, got ${JSON.stringify(time)}`
  if (time % interval !== 0) return `not a batch: time ${time} is not aligned to the interval ${interval} (time % interval must be 0)`
  if (!Array.isArray(records)) return 'not a batch: "records" must be an array'
  if (more !== undefined && typeof more !== 'boolean') return '"more" must be true or absent'
  const chunk: Chunk = { time, interval, records }
  if (more) chunk.more = true
  for (const key in value) {
    if (!KNOWN.has(key)) (chunk.extra ??= {})[key] = value[key]
  }
  return chunk
}

export function formatChunk (chunk: Chunk): string {
  let head = `{"time":${chunk.time},"interval":${chunk.interval},`
  if (chunk.extra) {
    for (const key in chunk.extra) head += `${JSON.stringify(key)}:${JSON.stringify(chunk.extra[key])},`
  }
  return head + `"records":${JSON.stringify(chunk.records)}${chunk.more ? ',"more":true' : ''}}\n`
}

/** The batch time of the interval holding instant `ms` (batch times are interval ends). */
export function batchTimeOf (ms: number, interval: number): number {
  return Math.floor(ms / interval) * interval + interval
}
