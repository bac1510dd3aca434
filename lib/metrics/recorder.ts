// What every stage of a pipeline says about each batch, where any tool can read it
// without talking to the pipeline (dstream top, dstream ui, jq): one file per stage
// in the state directory, DIR/metrics/NAME.PID.N.ndjson, its first line the stage
// (operator, name, pid, place in its process), then a line per batch:
//
//   {"time":T,"interval":I,"in":records,"inBytes":bytes,"out":records,"outBytes":bytes,
//    "arrived":ms,"processing":ms,"left":ms,"keys":n,"checkpoint":ms,"rate":r,"lag":{...}}
//
// `arrived` is when the batch's last chunk came (scheduling delay: arrived - time),
// `left` when its output had gone on (total delay: left - time); `processing` is the
// time the operator itself took; a source has no `in` but a `rate` (records a second)
// and, where it knows it, its `lag` (records, bytes or files behind). The file keeps
// the last `keep` batches: it is written with the batch, never synced, and rewritten
// with the last ones when it holds twice as many.
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../durability/atomicFile.js'
import { UsageError } from '../core/errors.js'
import type { Lag } from '../core/types.js'

export interface StageHeader {
  stage: string
  /** the name in the state directory: the operator and a hash of its arguments */
  name: string
  pid: number
  /** its place among the stages of its process (a fused chain has several) */
  position: number
  started: number
}


export interface BatchMetrics {
  time: number
  interval: number
  in?: number
  inBytes?: number
  out: number
  outBytes?: number
  arrived?: number
  /** ms the operator took (not for a source) */
  processing?: number
  left?: number
  keys?: number
  checkpoint?: number
  rate?: number
  lag?: Lag
}

/**
 * How many batches a stage's metrics file keeps: DSTREAM_METRICS=N, 1000 when it is
 * not set; 0 means no metrics at all.
 */
export function batchesKept (value: string | undefined): number {
  if (value === undefined || value === '') return 1000
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`DSTREAM_METRICS must be the number of batches to keep (0: no metrics), got '${value}'`)
  return n
}

/** The folder of the metrics files of a state directory. */
export function metricsDir (stateDir: string): string {
  return path.join(stateDir, 'metrics')
}

export class MetricsFile {
  private lines = 0
  private readonly recent: string[] = []
  private readonly head: string

  constructor (readonly file: string, header: StageHeader, private readonly keep = 1000) {
    this.head = JSON.stringify(header)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, this.head + '\n')
  }

  /** The metrics of a batch. A file that cannot be written is not worth stopping a pipeline for: it stays as it is. */
  write (batch: BatchMetrics): void {
    const line = JSON.stringify(batch)
    this.recent.push(line)
    if (this.recent.length > this.keep) this.recent.shift()
    try {
      if (++this.lines > 2 * this.keep) {
        writeFileAtomic(this.file, [this.head, ...this.recent].join('\n') + '\n')
        this.lines = this.recent.length
      } else {
        fs.appendFileSync(this.file, line + '\n')
      }
    } catch {
      // metrics are for watching; the stream goes on without them
    }
  }

}

/**
 * The files of earlier runs of this stage whose process is gone (the last run's file
 * stays after it ends, for `dstream top --once` after a cron run, until the stage
 * runs again).
 */
export function removeStale (dir: string, name: string): void {
  let entries: string[]
  try {
    entries = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const entry of entries) {
    const parts = /^(.+)\.(\d+)\.\d+\.ndjson$/.exec(entry)
    if (parts && parts[1] === name && !isAlive(Number(parts[2]))) fs.rmSync(path.join(dir, entry), { force: true })
  }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
