// The JSON of dstream ui's /api/, in the spirit of Spark's streaming REST API
// (/streaming/statistics, /streaming/batches, their operations): the pipeline's
// figures, its stages with their summaries, and its batches by batch time with what
// each stage measured of them.
//
// A batch's own figures, where Spark has one number and a pipeline has a stage each:
// its input is what the sources emitted for it; its processing time the work of every
// stage on it, added up; its scheduling and total delays those at the last stage it
// reached, from its end to its arrival there whole and to its output having gone on:
// how late it was at the end of the pipeline.
import { summarize, type StageView, type Summary } from './reader.js'
import type { BatchMetrics, StageHeader } from './recorder.js'

export interface StageInfo {
  /** the stage's metrics file without .ndjson: NAME.PID.POSITION, unique in a state directory */
  id: string
  header: StageHeader
  alive: boolean
  /** a source: it emits batches and takes none */
  source: boolean
  status: 'ok' | 'behind' | 'ended'
  summary: Summary
}

export interface BatchInfo {
  time: number
  interval: number
  /** active: a running stage has not reached it yet */
  status: 'active' | 'completed'
  /** records the sources emitted for it, and that a second */
  input: number | null
  inputRate: number | null
  /** ms */
  schedulingDelay: number | null
  processingTime: number | null
  totalDelay: number | null
  /** what each stage measured of it, by stage id */
  stages: Record<string, BatchMetrics>
}

export interface Statistics {
  stateDir: string
  /** any stage's process still running */
  running: boolean
  /** the sources' interval in ms (else the first stage's) */
  interval: number | null
  /** when the first stage started */
  started: number | null
  stages: number
  behind: Array<{ id: string, stage: string, processing: number, interval: number }>
  batches: { active: number, completed: number }
  /** records the sources emitted in the batches known */
  records: number
  /** the batches' own figures, averaged over the completed batches known */
  average: { inputRate: number | null, schedulingDelay: number | null, processingTime: number | null, totalDelay: number | null }
}

/** Batches answered when ?last= is not given. */
const LAST = 100

export function stageId (header: StageHeader): string {
  return `${header.name}.${header.pid}.${header.position}`
}

/** A source's batches carry its rate; no other stage's do. */
export function isSource (stage: StageView): boolean {
  return stage.batches.length > 0 && stage.batches.every(b => b.rate !== undefined)
}

export function stageInfos (stages: StageView[]): StageInfo[] {
  return stages.map(stage => {
    const summary = summarize(stage)
    const status = !stage.alive ? 'ended' : summary.behind ? 'behind' : 'ok'
    return { id: stageId(stage.header), header: stage.header, alive: stage.alive, source: isSource(stage), status, summary }
  })
}

/** The last `last` batch times any stage has seen, newest first, as Spark lists them. */
export function batchInfos (stages: StageView[], last = LAST): BatchInfo[] {
  const times = [...new Set(stages.flatMap(s => s.batches.map(b => b.time)))].sort((a, b) => b - a).slice(0, last)
  const byTime = stages.map(s => new Map(s.batches.map(b => [b.time, b])))
  return times.map(time => batchInfo(time, stages, byTime))
}

function batchInfo (time: number, stages: StageView[], byTime: Array<Map<number, BatchMetrics>>): BatchInfo {
  const seen: Record<string, BatchMetrics> = {}
  const sum = (a: number | null, b: number | undefined) => b === undefined ? a : (a ?? 0) + b
  let input: number | null = null
  let inputRate: number | null = null
  let processing: number | null = null
  let reached: BatchMetrics | undefined
  let active = false
  for (const [i, stage] of stages.entries()) {
    const b = byTime[i].get(time)
    // a stage already past this time without it (after a window, between slides) will not get it
    if (!b) { active ||= stage.alive && !((stage.batches.at(-1)?.time ?? -Infinity) > time); continue }
    seen[stageId(stage.header)] = b
    if (b.rate !== undefined) {
      input = sum(input, b.out)
      inputRate = sum(inputRate, b.rate)
    } else {
      reached = b
    }
    processing = sum(processing, b.processing)
  }
  const late = (at: number | undefined) => at === undefined ? null : Math.max(0, at - time)
  return {
    time,
    interval: Object.values(seen)[0].interval,
    status: active ? 'active' : 'completed',
    input,
    inputRate,
    schedulingDelay: late(reached?.arrived),
    processingTime: processing,
    totalDelay: late(reached?.left),
    stages: seen
  }
}

export function statistics (stateDir: string, stages: StageView[]): Statistics {
  const infos = stageInfos(stages)
  const batches = batchInfos(stages, Infinity)
  const sources = infos.filter(s => s.source)
  const mean = (pick: (b: BatchInfo) => number | null) => {
    const values = batches.flatMap(b => b.status === 'completed' && pick(b) !== null ? [pick(b)!] : [])
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length
  }
  return {
    stateDir,
    running: infos.some(s => s.alive),
    interval: (sources[0] ?? infos[0])?.summary.interval ?? null,
    started: infos.length === 0 ? null : Math.min(...infos.map(s => s.header.started)),
    stages: infos.length,
    behind: infos.filter(s => s.status === 'behind').map(s => ({ id: s.id, stage: s.header.stage, processing: s.summary.processing!.last, interval: s.summary.interval! })),
    batches: { active: batches.filter(b => b.status === 'active').length, completed: batches.filter(b => b.status === 'completed').length },
    records: batches.reduce((n, b) => n + (b.input ?? 0), 0),
    average: { inputRate: mean(b => b.inputRate), schedulingDelay: mean(b => b.schedulingDelay), processingTime: mean(b => b.processingTime), totalDelay: mean(b => b.totalDelay) }
  }
}

/** An answer of the API: a status and what goes out as JSON. */
export interface Answer { status: number, body: unknown }

/**
 * GET /api/PATH: statistics, stages, stages/ID/batches, batches, batches/TIME;
 * ?last=N for the lists of batches.
 */
export function answer (route: string, params: URLSearchParams, stateDir: string, stages: StageView[]): Answer {
  const last = params.has('last') ? Number(params.get('last')) : LAST
  if (!(Number.isInteger(last) && last > 0)) return { status: 400, body: { error: `last must be a whole number above 0, got '${params.get('last')}'` } }
  const parts = route.split('/').filter(Boolean).map(unescaped)
  if (parts.length === 1 && parts[0] === 'statistics') return { status: 200, body: statistics(stateDir, stages) }
  if (parts.length === 1 && parts[0] === 'stages') return { status: 200, body: stageInfos(stages) }
  if (parts.length === 3 && parts[0] === 'stages' && parts[2] === 'batches') {
    const stage = stages.find(s => stageId(s.header) === parts[1])
    return stage ? { status: 200, body: stage.batches.slice(-last).reverse() } : notFound(`no stage ${parts[1]} (GET /api/stages lists them)`)
  }
  if (parts.length === 1 && parts[0] === 'batches') return { status: 200, body: batchInfos(stages, last) }
  if (parts.length === 2 && parts[0] === 'batches') {
    const batch = batchInfos(stages, Infinity).find(b => String(b.time) === parts[1])
    return batch ? { status: 200, body: batch } : notFound(`no batch at time ${parts[1]} in the metrics files`)
  }
  return notFound(`no API at /api/${route}: statistics, stages, stages/ID/batches, batches, batches/TIME`)
}

function unescaped (part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

function notFound (error: string): Answer {
  return { status: 404, body: { error } }
}
