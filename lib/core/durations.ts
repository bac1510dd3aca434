// Durations on the command line: 250ms, 5s, 1m, 2h, 1d, or bare milliseconds.
import { UsageError } from './errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration; `zero: true` allows 0 (a watermark with no delay), which an interval cannot be. */
export function parseDuration (text: string | number, what = 'duration', { zero = false } = {}): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(text))
  const ms = match ? Number(match[1]) * UNITS[match[2] ?? 'ms'] : NaN
  if (!Number.isInteger(ms) || ms < 0 || (ms === 0 && !zero)) {
    throw new UsageError(`bad ${what} '${text}': expected a ${zero ? '' : 'positive '}whole number of ms, or a number with ms, s, m, h or d (e.g. 5s)`)
  }
  return ms
}

/** ms since the epoch from what an --event-time function gave: a number, a Date, or a string Date.parse reads. */
export function toMillis (value: unknown): number | undefined {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.floor(ms) : undefined
}

export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`
  }
  return `${ms}ms`
}
