// Several streams paired by batch time, for operators with `--with` (union, joins).
// A batch time is handed on once every stream that has not ended has a batch at or
// after it, so streams that start or end at different times still pair up; a stream
// with no batch at that time contributes [].
//
// With a maximum wait (join --max-wait), a stream that has not ended and has no
// batch while another has one is waited for at most that long; then the earliest
// time goes on with that stream's batch taken as empty, said on stderr, and the
// batch, when it comes, is dropped (said too), since times only go forward.
import { formatDuration } from '../core/durations.js'
import { BadInputError } from '../core/errors.js'
import type { Batch } from '../core/assemble.js'

type Emit = (time: number, interval: number, perStream: unknown[][], extra?: Record<string, unknown>) => void | Promise<void>

export interface WaitOptions {
  /** ms to wait for a stream that is behind; undefined: as long as it takes */
  maxWait?: number
  /** where the wait and the late batches are said */
  warn?(text: string): void
}

export class Merger {
  private readonly queues: Array<{ batches: Batch[], ended: boolean }>
  private chain: Promise<void> = Promise.resolve()
  private finish!: () => void
  /** resolves once every stream has ended and every batch has been handed on */
  readonly finished = new Promise<void>(resolve => { this.finish = resolve })

  private timer: NodeJS.Timeout | undefined
  /** the last time handed on after a wait ran out: batches up to it come too late */
  private gaveUp: number | undefined

  constructor (readonly names: string[], private readonly operator: string, private readonly emit: Emit, private readonly wait: WaitOptions = {}) {
    this.queues = names.map(() => ({ batches: [], ended: false }))
  }

  push (stream: number, batch: Batch): Promise<void> {
    if (this.gaveUp !== undefined && batch.time <= this.gaveUp) {
      this.wait.warn?.(`dstream ${this.operator}: batch ${batch.time} of ${this.names[stream]} came after it was taken as empty; dropped\n`)
      return this.chain
    }
    this.queues[stream].batches.push(batch)
    return (this.chain = this.chain.then(() => this.drain()))
  }

  end (stream: number): Promise<void> {
    this.queues[stream].ended = true
    return (this.chain = this.chain.then(() => this.drain()))
  }

  /** `waited`: the time whose wait ran out (startWaiting), handed on now without the streams behind */
  private async drain (waited?: number): Promise<void> {
    for (;;) {
      const live = this.queues.filter(q => q.batches.length > 0 || !q.ended)
      if (live.length === 0) return this.finish()
      const behind = this.queues.filter(q => q.batches.length === 0 && !q.ended)
      if (behind.length === live.length) return
      const heads = live.filter(q => q.batches.length > 0).map(q => q.batches[0])
      const time = Math.min(...heads.map(b => b.time))
      if (behind.length > 0 && waited !== time) {
        // the wait runs from the moment a stream was first found behind, not from the latest batch
        if (this.wait.maxWait !== undefined && this.timer === undefined) this.startWaiting(this.wait.maxWait, time)
        return
      }
      clearTimeout(this.timer)
      this.timer = undefined
      const interval = heads[0].interval
      const odd = this.queues.findIndex(q => q.batches[0] !== undefined && q.batches[0].interval !== interval)
      if (odd >= 0) {
        throw new BadInputError(`dstream ${this.operator}: batch ${time}: streams of different intervals cannot be paired: ${this.names[0]} has ${interval} ms, ${this.names[odd]} has ${this.queues[odd].batches[0].interval} ms`)
      }
      let extra: Record<string, unknown> | undefined
      const perStream = this.queues.map(q => {
        if (q.batches[0]?.time !== time) return []
        const batch = q.batches.shift()!
        if (batch.extra) extra = { ...extra, ...batch.extra }
        return batch.records
      })
      if (behind.length > 0) {
        this.gaveUp = time
        const names = behind.map(q => this.names[this.queues.indexOf(q)]).join(', ')
        this.wait.warn?.(`dstream ${this.operator}: batch ${time}: waited ${formatDuration(this.wait.maxWait!)} for ${names}; taking its batch as empty\n`)
      }
      await this.emit(time, interval, perStream, extra)
    }
  }

  private startWaiting (ms: number, time: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.chain = this.chain.then(() => this.drain(time))
      // a failure here reaches whoever pushes or ends next; it must not go unhandled meanwhile
      this.chain.catch(() => {})
    }, ms)
    this.timer.unref()
  }
}
