// The metrics files of a state directory (recorder.ts) read back, for dstream top and
// dstream ui: the stages in pipeline order, each with its batches and a summary.
// Separate processes do not know their place in a shell pipeline, so the order is
// read from the data: a batch reaches each stage a little later than the one before
// it (sources first, then by how late, at the median, a batch's last chunk arrives;
// within one process, by place in its `then` chain).
import fs from 'node:fs'
import path from 'node:path'
import { isAlive, metricsDir, type BatchMetrics, type StageHeader } from './recorder.js'

export interface StageView {
  header: StageHeader
  /** whether its process is still running */
  alive: boolean
  batches: BatchMetrics[]
}

export interface Summary {
  batches: number
  /** records a second coming in (a source: going out), over the last batches */
  rate: number | null
  processing: { last: number, p50: number, p99: number } | null
  /** ms from a batch's end to its last chunk's arrival, the last batch */
  scheduling: number | null
  /** ms from a batch's end to its output having gone on, the last batch */
  total: number | null
  keys: number | null
  lag: BatchMetrics['lag'] | null
  interval: number | null
  /** processing time above the interval for the last BEHIND batches in a row */
  behind: boolean
}

/** Batches in a row whose processing time exceeds the interval, for a stage to be behind. */
export const BEHIND = 3
/** The batches the rate is taken over. */
const RATE_OVER = 10

export function readStages (stateDir: string): StageView[] {
  const dir = metricsDir(stateDir)
  let entries: string[]
  try {
    entries = fs.readdirSync(dir).filter(e => e.endsWith('.ndjson'))
  } catch {
    return []
  }
  const stages: StageView[] = []
  for (const entry of entries) {
    let text: string
    try {
      text = fs.readFileSync(path.join(dir, entry), 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n')
    let header: StageHeader
    try {
      header = JSON.parse(lines[0])
    } catch {
      continue
    }
    const batches: BatchMetrics[] = []
    for (const line of lines.slice(1)) {
      if (!line) continue
      try { batches.push(JSON.parse(line)) } catch { /* a line being written */ }
    }
    stages.push({ header, alive: isAlive(header.pid), batches })
  }
  return inPipelineOrder(stages)
}

function inPipelineOrder (stages: StageView[]): StageView[] {
  const lateness = (s: StageView) => {
    if (s.batches.length > 0 && s.batches.every(b => b.in === undefined)) return -Infinity
    return median(s.batches.filter(b => b.arrived !== undefined).slice(-50).map(b => b.arrived! - b.time)) ?? Infinity
  }
  const keyed = stages.map(s => ({ s, late: lateness(s) }))
  return keyed.sort((a, b) => {
    if (a.s.header.pid === b.s.header.pid) return a.s.header.position - b.s.header.position
    return a.late - b.late || a.s.header.pid - b.s.header.pid
  }).map(k => k.s)
}

export function summarize (stage: StageView): Summary {
  const batches = stage.batches
  const last = batches.at(-1)
  const recent = batches.slice(-RATE_OVER)
  const span = recent.reduce((ms, b) => ms + b.interval, 0)
  const count = recent.reduce((n, b) => n + (b.in ?? b.out), 0)
  const times = batches.flatMap(b => b.processing === undefined ? [] : [b.processing])
  const tail = batches.slice(-BEHIND)
  return {
    batches: batches.length,
    rate: span > 0 ? count / (span / 1000) : null,
    processing: last?.processing !== undefined ? { last: last.processing, p50: quantile(times, 0.5)!, p99: quantile(times, 0.99)! } : null,
    // a batch closed before its end (the input ended) was not late
    scheduling: last?.arrived !== undefined ? Math.max(0, last.arrived - last.time) : null,
    total: last?.left !== undefined ? Math.max(0, last.left - last.time) : null,
    keys: last?.keys ?? null,
    lag: last?.lag ?? null,
    interval: last?.interval ?? null,
    behind: tail.length === BEHIND && tail.every(b => b.processing !== undefined && b.processing > b.interval)
  }
}

function median (values: number[]): number | undefined {
  return quantile(values, 0.5)
}

function quantile (values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
