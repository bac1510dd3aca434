// Several streams paired by batch time, for operators with `--with` (union, joins).
// A batch time is handed on once every stream that has not ended has a batch at or
// after it, so streams that start or end at different times still pair up; a stream
// with no batch at that time contributes [].
import { BadInputError } from './errors.js'
import type { Batch } from './assemble.js'

type Emit = (time: number, interval: number, perStream: unknown[][], extra?: Record<string, unknown>) => void | Promise<void>

export class Merger {
  private readonly queues: Array<{ batches: Batch[], ended: boolean }>
  private chain: Promise<void> = Promise.resolve()
  private finish!: () => void
  /** resolves once every stream has ended and every batch has been handed on */
  readonly finished = new Promise<void>(resolve => { this.finish = resolve })

  constructor (readonly names: string[], private readonly operator: string, private readonly emit: Emit) {
    this.queues = names.map(() => ({ batches: [], ended: false }))
  }

  push (stream: number, batch: Batch): Promise<void> {
    this.queues[stream].batches.push(batch)
    return (this.chain = this.chain.then(() => this.drain()))
  }

  end (stream: number): Promise<void> {
    this.queues[stream].ended = true
    return (this.chain = this.chain.then(() => this.drain()))
  }

  private async drain (): Promise<void> {
    for (;;) {
      const live = this.queues.filter(q => q.batches.length > 0 || !q.ended)
      if (live.length === 0) return this.finish()
      if (live.some(q => q.batches.length === 0)) return
      const heads = live.map(q => q.batches[0])
      const time = Math.min(...heads.map(b => b.time))
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
      await this.emit(time, interval, perStream, extra)
    }
  }
}
