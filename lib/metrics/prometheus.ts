// The stages of a pipeline in Prometheus's text exposition format (version 0.0.4),
// for dstream ui's /metrics: what top shows, as gauges of the last batch and a
// summary of processing times, one sample per stage, so Grafana can chart them.
// The metrics files keep a stage's last batches only, so counts over them would not
// be counters: they are gauges of those batches.
import { summarize, type StageView, type Summary } from './reader.js'
import { isSource, stageId } from './api.js'

interface Family {
  name: string
  type: 'gauge' | 'summary'
  help: string
  /** the stage's value, or values by extra labels; nothing when it has none */
  value (stage: StageView, summary: Summary): number | null | undefined | Array<[Record<string, string>, number]>
}

/** ms as seconds, to the microsecond the metrics files hold */
const seconds = (ms: number | null | undefined) => ms === null || ms === undefined ? null : Math.round(ms * 1000) / 1e6

const FAMILIES: Family[] = [
  { name: 'dstream_up', type: 'gauge', help: "1 while the stage's process runs, 0 once it has ended", value: stage => stage.alive ? 1 : 0 },
  { name: 'dstream_behind', type: 'gauge', help: 'the processing time has been over the interval for the last batches in a row (1) or not (0)', value: (stage, s) => stage.alive && s.behind ? 1 : 0 },
  { name: 'dstream_batches', type: 'gauge', help: "batches in the stage's metrics file (its last ones)", value: (_, s) => s.batches },
  { name: 'dstream_last_batch_timestamp_seconds', type: 'gauge', help: 'the batch time of the last batch done, in seconds since the epoch', value: stage => seconds(stage.batches.at(-1)?.time) },
  { name: 'dstream_batch_interval_seconds', type: 'gauge', help: 'the interval of its batches', value: (_, s) => seconds(s.interval) },
  { name: 'dstream_input_records_per_second', type: 'gauge', help: 'records a second coming in over the last batches (a source: going out)', value: (_, s) => s.rate },
  {
    name: 'dstream_processing_seconds',
    type: 'summary',
    help: "the time the operator took on a batch, over the batches of its metrics file",
    value: (_, s) => s.processing && [[{ quantile: '0.5' }, seconds(s.processing.p50)!], [{ quantile: '0.99' }, seconds(s.processing.p99)!]]
  },
  { name: 'dstream_last_processing_seconds', type: 'gauge', help: 'the time the operator took on the last batch', value: (_, s) => seconds(s.processing?.last) },
  { name: 'dstream_scheduling_delay_seconds', type: 'gauge', help: "from the last batch's end to its arrival at the stage", value: (stage, s) => isSource(stage) ? null : seconds(s.scheduling) },
  { name: 'dstream_total_delay_seconds', type: 'gauge', help: "from the last batch's end to its output having gone on", value: (_, s) => seconds(s.total) },
  { name: 'dstream_keys', type: 'gauge', help: 'the keys a stateful operator holds', value: (_, s) => s.keys },
  {
    name: 'dstream_source_lag',
    type: 'gauge',
    help: 'how far behind its input a source is, in records (kafka), bytes (tail) or files (watch)',
    value: (_, s) => s.lag && Object.entries(s.lag).map(([unit, n]) => [{ unit }, n] as [Record<string, string>, number])
  }
]

export function prometheusText (stages: StageView[]): string {
  const summaries = stages.map(summarize)
  let text = ''
  for (const family of FAMILIES) {
    const samples = stages.flatMap((stage, i) => samplesOf(family, stage, summaries[i]))
    if (samples.length === 0) continue
    text += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n` + samples.join('')
  }
  return text
}

function samplesOf (family: Family, stage: StageView, summary: Summary): string[] {
  const value = family.value(stage, summary)
  if (value === null || value === undefined) return []
  const labels = { stage: stage.header.stage, name: stage.header.name, id: stageId(stage.header) }
  const values: Array<[Record<string, string>, number]> = typeof value === 'number' ? [[{}, value]] : value
  return values.map(([extra, n]) => `${family.name}{${labelText({ ...labels, ...extra })}} ${n}\n`)
}

/** name="value" pairs, the value escaped as the format says: backslash, quote, newline. */
function labelText (labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')
}
