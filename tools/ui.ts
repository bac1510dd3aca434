// Spark: the Streaming tab of the web UI and the streaming part of its REST API. Reads
// the metrics files of a state directory (lib/metrics/), as top does, and serves them
// as a live page of charts and tables, as JSON under /api/ and as Prometheus text at
// /metrics. The page (lib/metrics/page/) and uPlot, the chart library, are files of
// this package served by it: the machines it runs on may have no internet.
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { RuntimeError, usage } from '../lib/core/errors.js'
import type { ToolDefinition } from '../lib/core/types.js'
import { formatAddress } from '../lib/intake/address.js'
import { answer } from '../lib/metrics/api.js'
import { prometheusText } from '../lib/metrics/prometheus.js'
import { BEHIND, readStages } from '../lib/metrics/reader.js'

interface UiOptions { port: number, host: string }

const ui: ToolDefinition<UiOptions> = {
  kind: 'tool',
  name: 'ui',
  spark: 'the Streaming tab of the web UI, and the REST API',
  group: 'tools',
  summary: "a web page of a pipeline's batches like Spark's Streaming tab, with a JSON API and Prometheus metrics",
  description: `
Serves a web page of the pipeline whose state directory is --state-dir (default:
$DSTREAM_STATE_DIR, else ./.dstream), at http://127.0.0.1:4040/ unless told
otherwise, updated every second, laid out as Spark's Streaming tab:

  header    the state directory, the batch interval, running or ended and since
            when, the batches completed and the records taken in
  warning   a red banner, "falling behind: STAGE takes longer than the
            interval", while a stage's processing time has been over the
            interval for ${BEHIND} batches in a row
  charts    a timeline of the last batches and a histogram of each of the input
            rate (a line per source), the scheduling delay, the processing time
            and the total delay (a line per stage)
  stages    each stage, as dstream top shows it
  batches   the active ones (not through every running stage yet) and the last
            completed ones, with the time each operator took on them

A batch's own figures, where Spark has one number: its input is what the sources
emitted for it; its processing time, the time of every stage on it added up; its
scheduling delay and total delay, from its end to its arrival whole at the last
stage it reached, and to its output having left that stage.

The same as JSON (newest batches first; ?last=N, default 100):

  GET /api/statistics           the pipeline: interval, running, stages behind,
                                batches, records, average figures
  GET /api/stages               each stage: id, header, alive, status, summary
  GET /api/stages/ID/batches    one stage's metrics of each batch
  GET /api/batches              each batch: time, status, its own figures and
                                every stage's metrics of it, by stage id
  GET /api/batches/TIME         one batch

and at /metrics in Prometheus's text format, a sample per stage (labels stage,
name, id): dstream_up, dstream_behind, dstream_input_records_per_second,
dstream_processing_seconds (quantiles 0.5, 0.99), dstream_last_processing_seconds,
dstream_scheduling_delay_seconds, dstream_total_delay_seconds, dstream_keys,
dstream_source_lag, dstream_batches and dstream_batch_interval_seconds.

It reads the metrics files every stage writes (see dstream top) and nothing else,
so it shows a running pipeline or the last run of one that ended. It binds
127.0.0.1, so only this machine can see the page, unless --host is given (0.0.0.0
or :: for every interface); every file of the page is served by dstream ui itself.
It says where on stdout, with the real port when --port is 0 (the system picks a
free one), and runs until SIGINT or SIGTERM, then exits 0. A port already in use
(or not allowed) is exit 1.`,
  positionals: [],
  options: {
    port: { type: 'number', meta: 'PORT', default: 4040, describe: 'the port to serve on; 0 picks a free one' },
    host: { type: 'string', meta: 'HOST', default: '127.0.0.1', describe: 'the address to bind: 0.0.0.0 or :: for every interface' }
  },
  examples: [
    { command: 'ui --state-dir /var/lib/dstream/wc', describe: 'the word count pipeline at http://127.0.0.1:4040/' },
    { command: 'ui --port 8080 --host 0.0.0.0', describe: "./.dstream's pipeline, for other machines too (Prometheus scrapes /metrics)" }
  ],
  async run (opts, io) {
    if (!(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) throw usage(ui, `--port must be 0 to 65535, got ${opts.port}`)
    const files = pageFiles()
    const server = http.createServer((req, res) => respond(req, res, opts.stateDir, files))
    const bound = await listen(server, opts.host, opts.port)
    io.stdout(`dstream ui: ${path.resolve(opts.stateDir)} at http://${formatAddress(bound)}/ (Ctrl-C stops)\n`)
    return await new Promise<number>(resolve => {
      io.onStop(() => {
        server.close(() => resolve(0))
        // the page's polling keeps its connection open
        server.closeAllConnections()
      })
    })
  }
}

interface Asset { type: string, body: Buffer }

/**
 * What the page is made of, read once, by URL path: its own files in lib/metrics/page/
 * under the project's root (the same from tools/ and from dist/tools/), and uPlot's
 * from node_modules.
 */
function pageFiles (): Map<string, Asset> {
  let root = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root) root = path.dirname(root)
  const page = path.join(root, 'lib', 'metrics', 'page')
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'))
  const sources: Array<[string, string, string]> = [
    ['/', path.join(page, 'index.html'), 'text/html; charset=utf-8'],
    ['/ui.js', path.join(page, 'ui.js'), 'text/javascript; charset=utf-8'],
    ['/ui.css', path.join(page, 'ui.css'), 'text/css; charset=utf-8'],
    ['/uPlot.iife.min.js', path.join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/uPlot.min.css', path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8']
  ]
  return new Map(sources.map(([url, file, type]) => {
    try {
      return [url, { type, body: fs.readFileSync(file) }]
    } catch (err) {
      throw new RuntimeError(`dstream ui: cannot read the page's file ${file}: ${(err as Error).message}`)
    }
  }))
}

function listen (server: http.Server, host: string, port: number): Promise<{ host: string, port: number }> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : 'failed'
      reject(new RuntimeError(`dstream ui: cannot listen on ${formatAddress({ host, port })}: ${why} (${err.code ?? err.message}); give another --port`))
    }
    server.once('error', failed)
    server.listen(port, host, () => {
      server.off('error', failed)
      resolve({ host, port: (server.address() as AddressInfo).port })
    })
  })
}

/** GET the page's files, /api/..., /metrics; the metrics files are read again for every answer. */
function respond (req: http.IncomingMessage, res: http.ServerResponse, stateDir: string, files: Map<string, Asset>): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const send = (status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
    res.end(body)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return send(405, 'text/plain; charset=utf-8', 'only GET and HEAD\n')
  }
  const file = files.get(url.pathname)
  if (file) return send(200, file.type, file.body)
  if (url.pathname === '/metrics') return send(200, 'text/plain; version=0.0.4; charset=utf-8', prometheusText(readStages(stateDir)))
  if (url.pathname.startsWith('/api/')) {
    const { status, body } = answer(url.pathname.slice('/api/'.length), url.searchParams, path.resolve(stateDir), readStages(stateDir))
    return send(status, 'application/json; charset=utf-8', JSON.stringify(body) + '\n')
  }
  send(404, 'text/plain; charset=utf-8', `not found: ${url.pathname} (the page is at /, the JSON under /api/, Prometheus's text at /metrics)\n`)
}

export default ui
