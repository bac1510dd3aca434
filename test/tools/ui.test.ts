// dstream ui: the JSON API and the Prometheus text over the metrics files of a
// pipeline that ran; the page's files all served by itself (no CDN); usage errors and
// a port in use; then the page in a real browser, headless Chromium driven by
// puppeteer-core, beside live pipelines: charts with data points, rows of batches,
// the warning of a pipeline falling behind, no console error. Its screenshot goes to
// the test's own folder; DSTREAM_UI_SCREENSHOT=docs/ui.png renews the README's.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import t from 'tap'
import { DSTREAM, ROOT, freshDir, sh, userEnv } from '../helpers.js'
import { freePort } from '../sources/live.js'

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = process.env.DSTREAM_UI_SCREENSHOT !== undefined
  ? path.resolve(ROOT, process.env.DSTREAM_UI_SCREENSHOT)
  : path.join(freshDir(), 'ui.png')

interface Ui { url: string, child: ChildProcess, stop (): Promise<number | null> }

/** `dstream ui` on the state directory, once it says where it serves. */
function startUi (stateDir: string, port = 0): Promise<Ui> {
  // tap's process hooks put its loader back into NODE_OPTIONS; the shell takes it out, as sh() does
  const child = spawn('bash', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', DSTREAM, 'ui', '--port', String(port), '--state-dir', stateDir], { env: userEnv() })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const stop = () => { child.kill('SIGTERM'); return exited }
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', d => { err += d })
    child.stdout!.on('data', d => {
      out += d
      const url = /at (http:\/\/\S+\/)/.exec(out)?.[1]
      if (url) resolve({ url, child, stop })
    })
    exited.then(code => reject(new Error(`dstream ui exited with ${code}: ${err}`)))
  })
}

/** A pipeline run in a process group of its own, so that SIGTERM reaches all its commands. */
function startPipeline (script: string, stateDir: string): { stop (): Promise<void> } {
  const child = spawn('bash', ['-c', `unset NODE_OPTIONS; ${script}`], { env: userEnv({ DSTREAM_STATE_DIR: stateDir }), detached: true, stdio: 'ignore' })
  let running = true
  const exited = new Promise<void>(resolve => child.on('exit', () => { running = false; resolve() }))
  return {
    stop: () => {
      if (running) process.kill(-child.pid!, 'SIGTERM')
      return exited
    }
  }
}

async function getJson (url: string): Promise<{ status: number, body: any }> {
  const res = await fetch(url)
  return { status: res.status, body: await res.json() }
}

t.test('the JSON API and the Prometheus text of a pipeline that ran', async t => {
  const state = freshDir()
  const ran = await sh(`dstream generate --rate 200 --count 300 --interval 100ms --seed 1 | dstream flat-map '_.split(" ")' | dstream count-by-value > /dev/null`, { env: { DSTREAM_STATE_DIR: state } })
  t.equal(ran.code, 0, ran.stderr)
  const ui = await startUi(state)
  t.teardown(() => { ui.child.kill() })
  t.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'on 127.0.0.1, the port the system picked for --port 0')

  const { body: statistics } = await getJson(`${ui.url}api/statistics`)
  t.match(statistics, { stateDir: path.resolve(state), running: false, interval: 100, stages: 3, behind: [], records: 300 }, '/api/statistics: the pipeline')
  t.equal(statistics.batches.active, 0, 'the pipeline ended: no batch is active')
  t.ok(statistics.batches.completed >= 15, `its batches completed (${statistics.batches.completed})`)
  t.ok(statistics.average.inputRate > 0 && statistics.average.processingTime > 0, 'average figures')

  const { body: stages } = await getJson(`${ui.url}api/stages`)
  t.same(stages.map((s: any) => s.header.stage), ['generate', 'flat-map', 'count-by-value'], '/api/stages: in pipeline order')
  t.same(stages.map((s: any) => [s.source, s.alive, s.status]), [[true, false, 'ended'], [false, false, 'ended'], [false, false, 'ended']])
  t.same(stages.map((s: any) => `${s.id}.ndjson`).sort(), fs.readdirSync(path.join(state, 'metrics')).sort(), 'a stage id is its metrics file')
  t.match(stages[1].summary, { processing: { last: Number, p50: Number, p99: Number }, interval: 100, behind: false })

  const { body: all } = await getJson(`${ui.url}api/batches?last=1000`)
  t.equal(all.reduce((n: number, b: any) => n + b.input, 0), 300, '/api/batches: the input of every batch, the lines generated')
  t.same(all.map((b: any) => b.time), all.map((b: any) => b.time).sort((a: number, b: number) => b - a), 'newest first')
  const [batch] = all.filter((b: any) => Object.keys(b.stages).length === 3)
  const [source, flatMap, countByValue] = stages.map((s: any) => batch.stages[s.id])
  t.equal(batch.processingTime, flatMap.processing + countByValue.processing, "a batch's processing time: its stages' added up")
  t.equal(batch.totalDelay, Math.max(0, countByValue.left - batch.time), 'its total delay: when it left the last stage')
  t.equal(batch.input, source.out, 'its input: what the source emitted')
  t.same((await getJson(`${ui.url}api/batches?last=2`)).body.length, 2, '?last=N')
  t.same((await getJson(`${ui.url}api/batches/${batch.time}`)).body, batch, '/api/batches/TIME: one batch')
  const { body: own } = await getJson(`${ui.url}api/stages/${stages[2].id}/batches?last=3`)
  t.same(own, fs.readFileSync(path.join(state, 'metrics', `${stages[2].id}.ndjson`), 'utf8').trim().split('\n').slice(-3).map(l => JSON.parse(l)).reverse(), "/api/stages/ID/batches: a stage's own lines, newest first")
  for (const [url, status] of [['api/nothing', 404], ['api/batches/12', 404], ['api/stages/nobody/batches', 404], ['api/batches?last=0', 400]] as const) {
    const answer = await getJson(ui.url + url)
    t.equal(answer.status, status, `/${url}: ${status}`)
    t.type(answer.body.error, 'string', 'with the reason as JSON')
  }

  const metrics = await fetch(`${ui.url}metrics`)
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/, "/metrics: Prometheus's text format")
  const text = await metrics.text()
  const sample = /^[a-z_]+\{(?:[a-z]+="(?:[^"\\\n]|\\.)*",?)+\} -?[\d.e+-]+$/
  t.same(text.trim().split('\n').filter(l => !/^# (HELP|TYPE) [a-z_]+ .+$/.test(l) && !sample.test(l)), [], 'every line a comment or a sample')
  t.match(text, `dstream_up{stage="generate",name="${stages[0].header.name}",id="${stages[0].id}"} 0`)
  t.match(text, /^dstream_input_records_per_second\{stage="generate",.*\} 1\d\d(\.\d+)?$/m, 'the input rate: about the 200 lines a second generated')
  t.match(text, /^dstream_processing_seconds\{stage="flat-map",.*,quantile="0\.99"\} [\d.e-]+$/m, 'processing quantiles')
  t.match(text, /^# TYPE dstream_behind gauge\ndstream_behind\{stage="generate".*\} 0$/m, 'behind or not')

  t.equal(await ui.stop(), 0, 'SIGTERM: exit 0')
})

t.test("the page's files are served by dstream ui itself", async t => {
  const ui = await startUi(freshDir())
  t.teardown(() => { ui.child.kill() })
  const html = await (await fetch(ui.url)).text()
  const links = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map(m => m[1])
  t.same(links.filter(l => /^(https?:)?\/\//.test(l)), [], 'no link leaves the server: no CDN')
  for (const link of links.filter(l => !l.startsWith('data:'))) t.equal((await fetch(ui.url + link)).status, 200, `${link} is served`)
  for (const [file, type] of [['uPlot.iife.min.js', /^text\/javascript/], ['uPlot.min.css', /^text\/css/]] as const) {
    const res = await fetch(ui.url + file)
    t.match(res.headers.get('content-type'), type)
    t.ok(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(ROOT, 'node_modules', 'uplot', 'dist', file))), `${file}: uPlot's own file`)
  }
  t.equal((await fetch(`${ui.url}nothing.js`)).status, 404)
  t.equal((await fetch(`${ui.url}api/stages`, { method: 'POST' })).status, 405, 'only GET')
  const { body } = await getJson(`${ui.url}api/statistics`)
  t.match(body, { running: false, stages: 0, interval: null, batches: { active: 0, completed: 0 } }, 'a state directory no pipeline has run in')
  t.equal(await ui.stop(), 0)
})

t.test('usage errors exit 2; a port in use exits 1', async t => {
  for (const port of ['soon', '70000', '-1', '1.5']) {
    const bad = await sh(`dstream ui --port ${port}`)
    t.equal(bad.code, 2, `--port ${port}: exit 2`)
    t.match(bad.stderr, /^dstream ui: --port must be 0 to 65535, got .*\nUsage: dstream ui \[options\]/)
  }
  t.equal((await sh('dstream ui 4040')).code, 2, 'no positional')
  const taken = net.createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { taken.close() })
  const port = (taken.address() as net.AddressInfo).port
  const inUse = await sh(`dstream ui --port ${port}`)
  t.equal(inUse.code, 1, 'a port in use: exit 1')
  t.equal(inUse.stderr, `dstream ui: cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE); give another --port\n`)
})

t.test('the page in a real browser (headless Chromium), beside live pipelines', async t => {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.DSTREAM_REQUIRE_SERVICES === '1') t.fail(`DSTREAM_REQUIRE_SERVICES=1 but no Chromium at ${CHROMIUM} (apt-get install chromium)`)
    else t.skip('skipped: no Chromium', () => {})
    return
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${freshDir()}`]
  })
  t.teardown(() => browser.close())

  t.test('a live pipeline: charts with data points, rows of batches, updated live; screenshot', async t => {
    const state = freshDir()
    const pipeline = startPipeline(`dstream generate --rate 200 --interval 250ms | dstream flat-map '_.split(" ")' | dstream count-by-value > /dev/null`, state)
    t.teardown(() => pipeline.stop())
    const ui = await startUi(state, await freePort())
    t.teardown(() => { ui.child.kill() })
    const { page, errors } = await open(browser, ui.url)
    // 24 batches: lines worth looking at in the screenshot
    await page.waitForFunction(`(${chartsHave})(window, 24)`, { timeout: 30_000 })
    const seen = await inPage(page, w => {
      const charts = Object.entries(w.dstreamCharts).map(([metric, c]: [string, any]) => ({
        metric,
        series: c.timeline.series.slice(1).map((s: any) => s.label),
        points: c.timeline.data.slice(1).map((ys: any[]) => ys.filter(y => y !== null).length),
        counted: c.histogram.data[1].reduce((a: number, b: number) => a + b, 0)
      }))
      const cells = (selector: string) => [...w.document.querySelectorAll(selector)].map((e: any) => e.textContent)
      return {
        charts,
        completed: cells('#completed tbody tr td:first-child'),
        stages: cells('#stages tbody tr td:first-child'),
        statuses: cells('#stages tbody tr td:last-child'),
        state: w.document.getElementById('state').textContent,
        summary: w.document.getElementById('summary').textContent,
        warned: !w.document.getElementById('behind').hidden
      }
    })
    t.same(seen.charts.map(c => [c.metric, c.series]), [
      ['inputRate', ['generate']],
      ['schedulingDelay', ['flat-map', 'count-by-value']],
      ['processingTime', ['flat-map', 'count-by-value']],
      ['totalDelay', ['flat-map', 'count-by-value']]
    ], 'the four timelines, a line per source or per stage')
    for (const c of seen.charts) {
      t.ok(c.points.every((n: number) => n >= 20), `${c.metric}: every line has its data points (${c.points})`)
      t.ok(c.counted >= 20, `${c.metric}: the histogram counts the batches (${c.counted})`)
    }
    t.equal(seen.completed.length, 20, 'the table of completed batches has its rows')
    t.match(seen.completed[0], /^\d\d:\d\d:\d\d\.\d{3}$/, 'a batch time a row')
    t.same(seen.stages, ['generate', 'flat-map', 'count-by-value'])
    t.same(seen.statuses, ['ok', 'ok', 'ok'])
    t.equal(seen.state, 'running')
    t.match(seen.summary, /^Running batches of 250 ms for \d+ s since .* \(\d+ completed batches, [\d,]+ records\)$/)
    t.notOk(seen.warned, 'no warning: the pipeline keeps up')
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    t.ok(fs.statSync(SCREENSHOT).size < 500_000, `the screenshot, ${SCREENSHOT}, is not too big to commit`)

    await pipeline.stop()
    await page.waitForFunction(`document.getElementById('state').textContent === 'ended'`, { timeout: 10_000 })
    t.pass('the pipeline stopped: the page says it has ended, by itself')
    t.same(errors, [], 'no console error, no failed request')
    await page.close()
  })

  t.test('a pipeline falling behind: the warning', async t => {
    const state = freshDir()
    // a map that takes 250 ms a batch of 100 ms, as in top's test
    const slow = `'x => { const t = Date.now(); while (Date.now() - t < 250); return x }'`
    const pipeline = startPipeline(`for i in $(seq 1 40); do echo x; sleep 0.1; done | dstream batch 100ms | dstream glom | dstream map ${slow} > /dev/null`, state)
    t.teardown(() => pipeline.stop())
    const ui = await startUi(state, await freePort())
    t.teardown(() => { ui.child.kill() })
    const { page, errors } = await open(browser, ui.url)
    await page.waitForFunction(`!document.getElementById('behind').hidden`, { timeout: 30_000 })
    const banner = await inPage(page, w => w.document.getElementById('behind').textContent as string)
    t.match(banner, /^falling behind: map takes longer than the interval \(map: \d+ ms a batch of 100 ms\)$/, 'the warning names the stage')
    const statuses = await inPage(page, w => [...w.document.querySelectorAll('#stages tbody tr td:last-child')].map((e: any) => [e.textContent, e.className]))
    t.same(statuses, [['ok', 'status-ok'], ['ok', 'status-ok'], ['behind', 'status-behind']], 'the slow stage is behind, in red; the others are not')
    const active = await inPage(page, w => w.document.querySelectorAll('#active tbody tr td.waiting').length)
    t.ok(active > 0, 'batches wait for it in the active ones')
    t.same(errors, [], 'no console error, no failed request')
    await page.close()
    await pipeline.stop()
  })
})

/** A page on url, and what went wrong in it: console errors, uncaught exceptions, failed requests. */
async function open (browser: Browser, url: string): Promise<{ page: Page, errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', m => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
  page.on('pageerror', err => errors.push(`page: ${(err as Error).message}`))
  page.on('requestfailed', r => errors.push(`request: ${r.url()} ${r.failure()?.errorText}`))
  page.on('response', r => { if (r.status() >= 400) errors.push(`response: ${r.url()} ${r.status()}`) })
  await page.setViewport({ width: 1280, height: 900 })
  await page.goto(url)
  return { page, errors }
}

/** In the page: every timeline has `n` batches, and the table of completed batches its rows. */
function chartsHave (w: any, n: number): boolean {
  const charts = Object.values(w.dstreamCharts) as any[]
  return charts.length === 4 && charts.every(c => c.timeline.data[0].length >= n) &&
    w.document.querySelectorAll('#completed tbody tr td:first-child:not(.empty)').length > 0
}

/** Runs fn in the page on its window (the tests are compiled without the DOM's types). */
function inPage<T> (page: Page, fn: (window: any) => T): Promise<T> {
  return page.evaluate(`(${fn.toString()})(window)`) as Promise<T>
}
