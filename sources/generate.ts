// Spark: none; the log generator of Spark Streaming courses (EXAMPLES.md job 9),
// built in so demos, the quick start and the benchmarks need no other input.
import { randomInt } from 'node:crypto'
import { usage } from '../lib/core/errors.js'
import type { SourceDefinition } from '../lib/core/types.js'
import { Batcher } from '../lib/intake/batcher.js'
import { batchSize } from '../lib/intake/batching.js'
import { CHUNK_OPTION, INTERVAL_OPTION } from '../lib/intake/options.js'
import { mulberry32 } from '../lib/intake/random.js'
import { pause, stopSignal } from '../lib/intake/stop.js'

interface GenerateOptions {
  interval?: string
  chunk: number
  rate: number
  count?: number
  seed?: string
}

const OCTETS = [10, 29, 30, 46, 55, 63, 72, 82, 87, 88, 98, 123, 124, 132, 143, 156, 167, 168, 187]
const PATHS = ['class/112.html', 'class/128.html', 'class/130.html', 'class/131.html', 'class/145.html', 'class/146.html',
  'learn/821', 'learn/823', 'course/list', 'index.html']
const STATUSES = [200, 200, 200, 404, 500]
const ENGINES = ['http://www.sogou.com/web?query=', 'http://cn.bing.com/search?q=', 'http://www.baidu.com/s?wd=', 'http://search.yahoo.com/search?p=']
const WORDS = ['hadoop', 'spark', 'storm', 'flink', 'kafka', 'hbase', 'spark+streaming', 'spark+sql']

const generate: SourceDefinition<GenerateOptions> = {
  kind: 'source',
  name: 'generate',
  spark: '—',
  group: 'sources',
  summary: 'made-up access-log lines, for demos and benchmarks',
  description: `
Emits access-log lines such as the generator of Spark Streaming courses writes,
as batches of --interval by processing time:

  82.88.45.123 2020-05-23 19:06:00 "GET /class/112.html HTTP/1.1" 404 http://www.sogou.com/web?query=hadoop

that is: an IP address, the local date and time of now, a request for one of a
few paths (/class/NNN.html, /learn/NNN, /course/list, /index.html), a status
among 200, 404 and 500, and a referer: a search engine's URL with the query word
(sogou, bing, baidu, yahoo) or -.

--rate lines a second (default 10); --rate 0 is as fast as the pipeline takes
them, waiting when it is behind. With --count N it ends after N lines: the open
batch is closed and it exits 0; otherwise it runs until SIGINT or SIGTERM. With
--seed the lines are the same on every run except for their date and time.`,
  positionals: [],
  options: {
    ...INTERVAL_OPTION,
    rate: { type: 'number', default: 10, describe: 'lines a second; 0: as fast as the pipeline takes them' },
    count: { type: 'number', meta: 'N', describe: 'end after N lines (default: run until stopped)' },
    seed: { type: 'string', meta: 'S', describe: 'any word: the same seed gives the same lines (but for date and time)' },
    chunk: CHUNK_OPTION.chunk
  },
  examples: [
    { command: "generate | dstream filter '_.includes(\"/class/\")' | dstream print", describe: 'watch the course clicks go by' },
    { command: 'generate --rate 0 --count 1000000 --seed 1 | dstream count', describe: 'a million lines, as fast as possible, the same ones every time' }
  ],
  start (opts, ctx, io) {
    const rate = opts.rate
    const count = opts.count ?? Infinity
    if (!(rate >= 0)) throw usage(generate, `--rate must be a number of lines a second (0: as fast as possible), got ${opts.rate}`)
    if (!(Number.isInteger(count) && count >= 0) && count !== Infinity) throw usage(generate, `--count must be a whole number, got ${opts.count}`)
    const { interval, chunk } = batchSize(opts, generate)
    const batcher = new Batcher(interval, chunk, io)
    const line = logLines(opts.seed === undefined ? randomInt(2 ** 32) : hashSeed(String(opts.seed)))
    const { stopped, stop } = stopSignal()
    let halted = false
    // a rate is kept by ticks that emit the lines due by then, so 10 or 100000 a second both work
    const period = rate > 0 ? Math.min(1000, Math.max(10, 1000 / rate)) : 0

    const produce = async () => {
      const started = Date.now()
      let sent = 0
      while (!halted && sent < count) {
        const due = rate === 0 ? Math.min(count, sent + 1024) : Math.min(count, Math.floor((Date.now() - started) * rate / 1000) + 1)
        while (sent < due && !halted) {
          sent++
          const wait = batcher.push(line())
          if (wait) await wait
        }
        if (halted || sent >= count) break
        // at full speed, let the batch timer and signals in between
        await (rate === 0 ? new Promise(resolve => setImmediate(resolve)) : pause(period, stopped))
      }
    }
    const done = produce().finally(() => batcher.close())
    return { done, stop () { halted = true; stop() } }
  }
}

/** A generator of log lines: contents from a seeded PRNG, date and time from the clock. */
function logLines (seed: number): () => string {
  const random = mulberry32(seed)
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]
  let second = -1
  let stamp = ''
  return () => {
    const now = Date.now()
    if (Math.floor(now / 1000) !== second) {
      second = Math.floor(now / 1000)
      stamp = localStamp(new Date(now))
    }
    const ip = `${pick(OCTETS)}.${pick(OCTETS)}.${pick(OCTETS)}.${pick(OCTETS)}`
    const path = pick(PATHS)
    const status = pick(STATUSES)
    const referer = random() < 0.4 ? '-' : pick(ENGINES) + pick(WORDS)
    return `${ip} ${stamp} "GET /${path} HTTP/1.1" ${status} ${referer}`
  }
}

function localStamp (d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}


/** Any seed word to 32 bits (FNV-1a). */
function hashSeed (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export default generate
