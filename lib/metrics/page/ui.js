// dstream ui's page, plain browser JavaScript: the JSON API polled every second and
// drawn into index.html's sections, the charts with uPlot (served beside this file).
'use strict'

const POLL_MS = 1000
/** The batches the charts cover, and the most each table of batches lists. */
const CHART_BATCHES = 100
const TABLE_BATCHES = 20
const CHART_HEIGHT = 170
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']

// The four figures of Spark's Streaming tab. A timeline has a line per stage that has
// the figure (`line`, from the stage's metrics of a batch); a histogram counts the
// batches by their own figure (`batch`, from /api/batches). `tick` is the short form
// the axes have room for.
const METRICS = [
  { key: 'inputRate', format: rate, tick: perSecond, stages: s => s.source, line: b => b.rate ?? null, batch: b => b.inputRate },
  { key: 'schedulingDelay', format: ms, tick: ms, stages: s => !s.source, line: (b, time) => late(b.arrived, time), batch: b => b.schedulingDelay },
  { key: 'processingTime', format: ms, tick: ms, stages: s => !s.source, line: b => b.processing ?? null, batch: b => b.processingTime },
  { key: 'totalDelay', format: ms, tick: ms, stages: s => !s.source, line: (b, time) => late(b.left, time), batch: b => b.totalDelay }
]

/** The uPlot instances by metric, { timeline, histogram }: also for the browser's console and the page's test. */
const charts = {}
window.dstreamCharts = charts
/** The series each chart was made with: a chart is made again when they change (a stage starts or ends). */
const shapes = {}

async function poll () {
  try {
    const [statistics, stages, batches] = await Promise.all([get('api/statistics'), get('api/stages'), get(`api/batches?last=${CHART_BATCHES}`)])
    render(statistics, stages, batches)
    text('connection', '')
  } catch (err) {
    text('connection', `no answer from dstream ui (${err.message}): trying again`)
  } finally {
    setTimeout(poll, POLL_MS)
  }
}

async function get (url) {
  const res = await fetch(url, { cache: 'no-store' })
  if (!res.ok) throw new Error(`${url}: ${res.status}`)
  return res.json()
}

function render (statistics, stages, batches) {
  renderOverview(statistics, batches)
  renderBehind(statistics.behind)
  renderCharts(stages, batches)
  renderStages(stages)
  renderBatches(stages, batches, statistics.batches)
}

function renderOverview (s, batches) {
  text('state-dir', s.stateDir)
  const state = document.getElementById('state')
  state.textContent = s.stages === 0 ? '' : s.running ? 'running' : 'ended'
  state.className = `state ${s.running ? 'running' : ''}`
  if (s.stages === 0) {
    text('summary', `No metrics in ${s.stateDir}/metrics: no pipeline has run with this state directory (or DSTREAM_METRICS=0).`)
    return
  }
  const counts = `(${s.batches.completed.toLocaleString()} completed batches, ${s.records.toLocaleString()} records)`
  const last = batches.length > 0 ? batches[0].time : s.started
  text('summary', s.running
    ? `Running batches of ${ms(s.interval)} for ${duration(Date.now() - s.started)} since ${dateTime(s.started)} ${counts}`
    : `Ended: batches of ${ms(s.interval)}, ran ${duration(last - s.started)} from ${dateTime(s.started)} ${counts}`)
}

function renderBehind (behind) {
  const banner = document.getElementById('behind')
  banner.hidden = behind.length === 0
  if (banner.hidden) return
  const names = [...new Set(behind.map(b => b.stage))]
  banner.textContent = `falling behind: ${names.join(' and ')} ${names.length === 1 ? 'takes' : 'take'} longer than the interval`
  const detail = document.createElement('span')
  detail.className = 'detail'
  detail.textContent = '(' + behind.map(b => `${b.stage}: ${ms(b.processing)} a batch of ${ms(b.interval)}`).join('; ') + ')'
  banner.append(' ', detail)
}

function renderCharts (stages, batches) {
  const ordered = [...batches].reverse()
  const xs = ordered.map(b => b.time / 1000)
  text('chart-batches', String(ordered.length))
  const labels = labelsOf(stages)
  for (const metric of METRICS) {
    const lines = stages.filter(metric.stages)
    const series = lines.map(s => ({ label: labels.get(s.id), stroke: COLOURS[stages.indexOf(s) % COLOURS.length] }))
    const timeline = [xs, ...lines.map(s => ordered.map(b => b.stages[s.id] ? metric.line(b.stages[s.id], b.time) : null))]
    draw(metric, 'timeline', series, timeline)
    const figures = ordered.filter(b => b.status === 'completed').map(metric.batch).filter(v => v !== null)
    draw(metric, 'histogram', [{ label: 'batches', stroke: COLOURS[0] }], histogram(figures))
    const average = figures.length === 0 ? null : figures.reduce((a, b) => a + b, 0) / figures.length
    document.querySelector(`.metric[data-metric="${metric.key}"] .avg`).textContent = `avg: ${metric.format(average)}`
  }
}

/** Each stage's label: its operator, or its name in the state directory where two stages share an operator. */
function labelsOf (stages) {
  const count = name => stages.filter(s => s.header.stage === name).length
  return new Map(stages.map(s => [s.id, count(s.header.stage) > 1 ? s.header.name : s.header.stage]))
}

function draw (metric, kind, series, data) {
  const cell = document.querySelector(`.${kind}[data-metric="${metric.key}"]`)
  const shape = JSON.stringify(series)
  const slot = (charts[metric.key] ??= {})
  if (slot[kind] && shapes[metric.key + kind] === shape) {
    slot[kind].setData(data)
    return
  }
  slot[kind]?.destroy()
  const options = kind === 'timeline' ? timelineOptions(metric, series) : histogramOptions(metric, series)
  slot[kind] = new uPlot({ ...options, width: cell.clientWidth, height: CHART_HEIGHT }, data, cell)
  shapes[metric.key + kind] = shape
}

function timelineOptions (metric, series) {
  return {
    legend: { live: false },
    scales: { y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    series: [
      { value: (u, v) => v === null ? '-' : clock(v * 1000) },
      ...series.map(s => ({ label: s.label, stroke: s.stroke, width: 1.5, spanGaps: true, value: (u, v) => metric.format(v) }))
    ],
    axes: [{}, { size: 70, values: (u, ticks) => ticks.map(v => metric.tick(v)) }]
  }
}

function histogramOptions (metric, series) {
  return {
    legend: { show: false },
    cursor: { points: { show: false } },
    scales: { x: { time: false, range: binsRange }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [
      {},
      ...series.map(s => ({ label: s.label, stroke: s.stroke, fill: s.stroke + '99', paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }))
    ],
    axes: [
      { values: (u, ticks) => ticks.map(v => metric.tick(v)) },
      { size: 40, values: (u, ticks) => ticks.map(v => Number.isInteger(v) ? String(v) : '') }
    ]
  }
}

/** The bins' centres, with half a bin's room at either end for the bars. */
function binsRange (u, min, max) {
  const bins = u.data[0].length
  const half = bins > 1 ? (max - min) / (bins - 1) / 2 : Math.max(Math.abs(min) / 10, 1)
  return [min - half, max + half]
}

/** Ten bins between the smallest and the largest figure, as uPlot data: the bins' centres and their batches. */
function histogram (values) {
  if (values.length === 0) return [[], []]
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  if (lo === hi) return [[lo], [values.length]]
  const bins = 10
  const width = (hi - lo) / bins
  const counts = new Array(bins).fill(0)
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++
  return [counts.map((_, i) => lo + (i + 0.5) * width), counts]
}

function renderStages (stages) {
  const labels = labelsOf(stages)
  fill(document.querySelector('#stages tbody'), stages.map(s => {
    const m = s.summary
    return [
      { text: labels.get(s.id), title: s.id },
      { text: String(s.header.pid) },
      { text: m.batches.toLocaleString() },
      { text: rate(m.rate) },
      { text: ms(m.processing?.last) },
      { text: ms(m.processing?.p50) },
      { text: ms(m.processing?.p99) },
      { text: s.source ? '-' : ms(m.scheduling) },
      { text: ms(m.total) },
      { text: m.keys === null ? '-' : m.keys.toLocaleString() },
      { text: lag(m.lag) },
      { text: s.status, className: `status-${s.status}` }
    ]
  }), 12, 'no stage has written metrics yet')
}

/** The tables of active and completed batches; `counts`: how many of each the metrics files hold. */
function renderBatches (stages, batches, counts) {
  const operators = stages.filter(s => !s.source)
  const labels = labelsOf(stages)
  const head = ['Batch time', 'Input size', 'Scheduling delay', 'Processing time', 'Total delay', ...operators.map(s => labels.get(s.id))]
  // an active batch's figures are not known until it is through
  const done = (b, v) => b.status === 'active' ? '-' : ms(v)
  const rows = list => list.map(b => [
    { text: clock(b.time) },
    { text: b.input === null ? '-' : records(b.input) },
    { text: done(b, b.schedulingDelay) },
    { text: done(b, b.processingTime) },
    { text: done(b, b.totalDelay) },
    ...operators.map(s => b.stages[s.id] ? { text: ms(b.stages[s.id].processing) } : { text: b.status === 'active' ? 'waiting' : '-', className: 'waiting' })
  ])
  const sections = [
    ['active', batches.filter(b => b.status === 'active'), 'no batch in progress'],
    ['completed', batches.filter(b => b.status === 'completed'), 'no batch completed yet']
  ]
  for (const [id, list, none] of sections) {
    text(`${id}-count`, counts[id] > TABLE_BATCHES ? `last ${TABLE_BATCHES} of ${counts[id].toLocaleString()}` : String(counts[id]))
    const table = document.getElementById(id)
    fill(table.tHead, [head.map(h => ({ text: h }))], head.length, '', 'th')
    fill(table.tBodies[0], rows(list.slice(0, TABLE_BATCHES)), head.length, none)
  }
}

/** Replaces a table section's rows; a row saying `none` when there are none. */
function fill (section, rows, columns, none, tag = 'td') {
  section.replaceChildren(...(rows.length > 0 ? rows : [[{ text: none, className: 'empty', span: columns }]]).map(cells => {
    const tr = document.createElement('tr')
    for (const cell of cells) {
      const td = document.createElement(tag)
      td.textContent = cell.text
      if (cell.className) td.className = cell.className
      if (cell.title) td.title = cell.title
      if (cell.span) td.colSpan = cell.span
      tr.append(td)
    }
    return tr
  }))
}

function text (id, value) {
  document.getElementById(id).textContent = value
}

function late (at, time) {
  return at === undefined ? null : Math.max(0, at - time)
}

function ms (v) {
  if (v === null || v === undefined) return '-'
  if (v < 10) return `${+v.toFixed(2)} ms`
  if (v < 1000) return `${Math.round(v)} ms`
  return `${+(v / 1000).toFixed(v < 10000 ? 2 : 1)} s`
}

function rate (v) {
  return v === null || v === undefined ? '-' : `${Math.round(v).toLocaleString()} records/s`
}

function records (n) {
  return `${n.toLocaleString()} ${n === 1 ? 'record' : 'records'}`
}

function perSecond (v) {
  return v >= 10000 ? `${+(v / 1000).toFixed(1)}k/s` : `${Math.round(v)}/s`
}

function lag (l) {
  if (!l) return '-'
  if (l.records !== undefined) return records(l.records)
  if (l.bytes !== undefined) return `${l.bytes.toLocaleString()} bytes`
  return `${l.files} files`
}

function duration (v) {
  const s = Math.max(0, Math.round(v / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min`
}

const pad = (n, width = 2) => String(n).padStart(width, '0')

function dateTime (t) {
  const d = new Date(t)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A batch time on the wall clock, to the millisecond: intervals may be shorter than a second. */
function clock (t) {
  const d = new Date(t)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

window.addEventListener('resize', () => {
  for (const [key, slot] of Object.entries(charts)) {
    for (const [kind, chart] of Object.entries(slot)) chart.setSize({ width: document.querySelector(`.${kind}[data-metric="${key}"]`).clientWidth, height: CHART_HEIGHT })
  }
})

poll()
