// bench/latency: how long after its batch ends a batch's result is on disk, at a
// steady 100,000 lines/s through the word count into save, piped and fused, beside
// `batch | save` alone (the floor: batching and writing) measured in this same run;
// the peak RSS of every process. Then the memory of a stateless chain over an
// endless stream, sampled every 5 s so that a leak shows.
//   npm run bench:latency      (RATE=, LINE_WORDS=, SECONDS=, ENDLESS_SECONDS= to vary)
//
// Latency of a batch = (when its file PREFIX-TIME was renamed into place) − TIME.
// TIME is the batch's end in wall-clock ms (sources/batch.ts: batch times are the
// ends of their intervals, batchTimeOf(Date.now())), so nothing is added to it.
// The rename is seen by fs.watch in this process (inotify's IN_MOVED_TO) and stamped
// with performance.timeOrigin + performance.now(): an upper bound, by this process's
// own delay in noticing. Not the file's ctime, which the rename sets: the kernel
// stamps files with its coarse clock, measured here 4 to 7 ms behind Date.now().
// The last batch, closed early when the input ends, is not counted.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin')
const RATE = Number(process.env.RATE ?? 100_000) // lines a second
const LINE_WORDS = Number(process.env.LINE_WORDS ?? 10) // words a line, as in bench/wordcount
const SECONDS = Number(process.env.SECONDS ?? 20)
const ENDLESS_SECONDS = Number(process.env.ENDLESS_SECONDS ?? 30)
const SLICE = 5 // ms between the writer's slices
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-latency-'))
const ENV = { ...process.env, PATH: `${BIN}:${process.env.PATH}` }

// the lines: LINE_WORDS words each, a skewed choice among 5,000 words (bench/wordcount's)
let seed = 42
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
const vocabulary = Array.from({ length: 5000 }, (_, i) => 'w' + (i * 2654435761 % 1e6).toString(36))
const LINES = Array.from({ length: 100_000 }, () => Array.from({ length: LINE_WORDS }, () => vocabulary[Math.floor(random() * random() * vocabulary.length)]).join(' '))

const nowMs = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

function spawnPipeline (script: string, cwd: string, stdin: 'pipe' | 'ignore'): ChildProcess {
  return spawn('bash', ['-o', 'pipefail', '-c', script], {
    cwd,
    env: { ...ENV, DSTREAM_STATE_DIR: path.join(cwd, 'state') },
    stdio: [stdin, 'pipe', 'inherit'],
    detached: true // a process group of its own, so that the endless run can be stopped whole
  })
}

const closed = (child: ChildProcess) => new Promise<number | null>(resolve => child.on('close', code => resolve(code)))

interface Run { latencies: number[], missed: number, behind: number, peaks: Map<string, number>, files: number, bytes: number }

/** Feeds RATE lines a second for SECONDS into the pipeline, which ends in `save DIR/out`; the latency of every batch. */
async function latencyRun (name: string, stages: string): Promise<Run> {
  const dir = path.join(TMP, name.replace(/\W+/g, '-'))
  const out = path.join(dir, 'out')
  fs.mkdirSync(out, { recursive: true })
  const seen = new Map<number, number>() // batch time → when its file appeared
  const watcher = fs.watch(out, (event, file) => {
    const at = nowMs()
    const m = /^out-(\d+)$/.exec(String(file))
    if (m && !seen.has(Number(m[1])) && fs.existsSync(path.join(out, m[0]))) seen.set(Number(m[1]), at)
  })
  const child = spawnPipeline(stages.replace('SAVE', `save ${out}/out`), dir, 'pipe')
  const memory = watchGroup(child.pid!)
  const done = closed(child)
  child.stdout!.resume()
  await sleep(1000) // the processes start (node, the modules) before the clock starts

  // the paced writer: every SLICE ms, the lines due by now
  const start = nowMs()
  let written = 0
  let behind = 0 // most bytes the pipe would not take at once
  let next = 0
  while (nowMs() - start < SECONDS * 1000) {
    const due = Math.floor((nowMs() - start) / 1000 * RATE) - written
    if (due > 0) {
      const lines: string[] = []
      for (let i = 0; i < due; i++) lines.push(LINES[(next++) % LINES.length])
      child.stdin!.write(lines.join('\n') + '\n')
      written += due
      behind = Math.max(behind, child.stdin!.writableLength)
    }
    await sleep(SLICE)
  }
  const stopped = Date.now()
  child.stdin!.end()
  const code = await done
  const peaks = memory.stop()
  watcher.close()
  if (code !== 0) throw new Error(`${name}: exit ${code}`)

  const latencies: number[] = []
  let missed = 0 // files the watcher did not see arrive (none expected)
  let files = 0
  let bytes = 0
  for (const file of fs.readdirSync(out)) {
    const m = /^out-(\d+)$/.exec(file)
    if (!m) continue
    const time = Number(m[1])
    if (time > stopped) continue // closed early by the end of input
    files++
    bytes += fs.statSync(path.join(out, file)).size
    const at = seen.get(time)
    if (at === undefined) missed++
    else latencies.push(at - time)
  }
  return { latencies, missed, behind, peaks, files, bytes }
}

function summary (values: number[]): string {
  const s = [...values].sort((a, b) => a - b)
  return `p50 ${percentile(s, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(s, 99).toFixed(1).padStart(6)} ms  max ${s[s.length - 1].toFixed(1).padStart(6)} ms`
}

/**
 * The RSS of the dstream processes of one process group (the pipeline this bench
 * started, whatever else runs on the machine), polled every 100 ms like
 * procs.ts's watchMemory: the latest and the peak of each, by operator and pid.
 */
function watchGroup (group: number): { now: Map<string, number>, stop(): Map<string, number> } {
  const now = new Map<string, number>()
  const peaks = new Map<string, number>()
  const poll = () => {
    now.clear()
    for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        // /proc/PID/stat: pid (comm) state ppid pgrp ...
        if (Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[2]) !== group) continue
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
        const at = cmd.findIndex(w => w.includes('/bin/dstream'))
        if (at < 0) continue
        const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
        const name = `${cmd[at + 1]} (pid ${pid})`
        now.set(name, kb / 1024)
        peaks.set(name, Math.max(peaks.get(name) ?? 0, kb / 1024))
      } catch { /* ended meanwhile */ }
    }
  }
  const timer = setInterval(poll, 100)
  return { now, stop () { clearInterval(timer); return peaks } }
}

/** The pid of the process of a group whose command line passes the test. */
function pidOf (group: number, test: (cmd: string[]) => boolean): number {
  for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      if (Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[2]) !== group) continue
      if (test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))) return Number(pid)
    } catch { /* ended meanwhile */ }
  }
  throw new Error(`no such process in group ${group}`)
}

async function main (): Promise<void> {
  console.log(`latency: ${RATE.toLocaleString('en')} lines/s of ${LINE_WORDS} words (${(RATE * LINE_WORDS).toLocaleString('en')} words/s) for ${SECONDS} s, batches of 1 s, into save; ${execFileSync('nproc').toString().trim()} cores, node ${process.version}`)
  console.log('latency of a batch = its file renamed into place (fs.watch) − its batch time (the batch end); the last batch, closed early at end of input, not counted\n')
  const WORDCOUNT = [`flat-map '_.split(" ")'`, `map '[_, 1]'`, 'reduce-by-key sum', 'SAVE']
  const runs: Array<[string, string]> = [
    ['baseline: batch | save', 'dstream batch 1s | dstream SAVE'],
    ['piped word count', `dstream batch 1s | dstream ${WORDCOUNT.join(' | dstream ')}`],
    ['fused word count', `dstream batch 1s ${WORDCOUNT.map(s => 'then ' + s).join(' ')}`]
  ]
  const results: Record<string, Run> = {}
  for (const [name, script] of runs) {
    const run = results[name] = await latencyRun(name, script)
    console.log(`${name.padEnd(24)} ${summary(run.latencies)}  (${run.latencies.length} batches${run.missed ? `; ${run.missed} files not seen arriving` : ''}; files of ${(run.bytes / run.files / 1e6).toFixed(2)} MB)`)
    if (run.behind > 1e6) console.log(`${''.padEnd(24)} the pipeline fell behind the input: up to ${(run.behind / 1e6).toFixed(1)} MB waited in the pipe's buffer`)
    for (const [proc, mb] of run.peaks) console.log(`${''.padEnd(24)}   ${proc.padEnd(26)} peak RSS ${mb.toFixed(0).padStart(4)} MB`)
  }
  const p = (name: string, q: number) => percentile([...results[name].latencies].sort((a, b) => a - b), q)
  console.log('')
  for (const name of ['piped word count', 'fused word count']) {
    console.log(`${name}: p99 ${p(name, 99).toFixed(1)} ms (target < 50 ms): ${p(name, 99) < 50 ? 'met' : 'NOT met'}; ${(p(name, 50) - p('baseline: batch | save', 50)).toFixed(1)} ms above the baseline at p50, ${(p(name, 99) - p('baseline: batch | save', 99)).toFixed(1)} ms at p99`)
  }

  // memory: a stateless chain that takes an endless stream as fast as it can
  console.log(`\nmemory: yes | batch 100ms | flat-map | map | filter, for ${ENDLESS_SECONDS} s; RSS in MB every 5 s`)
  const dir = path.join(TMP, 'endless')
  fs.mkdirSync(dir, { recursive: true })
  // awk counts the records of filter's chunks: the separators between [word, 1] pairs, plus one
  const child = spawnPipeline(`yes 'to be or not to be that is the question' | dstream batch 100ms | dstream flat-map '_.split(" ")' | dstream map '[_, 1]' | dstream filter '_[0] !== "to"' | awk '!/"records":\\[\\]/ { n += split($0, a, /\\],\\[/) } END { print n + 0 }'`, dir, 'ignore')
  const memory = watchGroup(child.pid!)
  let lines = ''
  child.stdout!.on('data', d => { lines += d })
  const done = closed(child)
  const trend = new Map<string, string[]>()
  for (let t = 5; t <= ENDLESS_SECONDS; t += 5) {
    await sleep(5000)
    for (const [proc, mb] of memory.now) {
      if (!trend.has(proc)) trend.set(proc, [])
      trend.get(proc)!.push(`${t}s ${mb.toFixed(0)}`)
    }
  }
  // the end of the endless input: yes stops (SIGPIPE, as when its reader goes: exit 141 under
  // pipefail, and bash says nothing), batch reads the end of stdin, closes its batch, the rest drain
  process.kill(pidOf(child.pid!, cmd => cmd[0] === 'yes'), 'SIGPIPE')
  const code = await done
  const peaks = memory.stop()
  for (const [proc, samples] of trend) console.log(`  ${proc.padEnd(26)} ${samples.join('  ')}`)
  for (const [proc, mb] of peaks) console.log(`  ${proc.padEnd(26)} peak RSS ${mb.toFixed(0)} MB`)
  const worst = Math.max(...peaks.values())
  const records = Number(lines.trim())
  if (code !== 141) console.log(`  the pipeline exited ${code}`)
  console.log(`  ${records.toLocaleString('en')} records out of filter (${Math.round(records / ENDLESS_SECONDS).toLocaleString('en')}/s); largest process: ${worst.toFixed(0)} MB (target < 100 MB): ${worst < 100 ? 'met' : 'NOT met'}`)
  fs.rmSync(TMP, { recursive: true, force: true })
}

main().catch(err => { console.error(err); process.exit(1) })
