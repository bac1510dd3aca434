// Spark: DStream.window (WindowedDStream): the records of the batches of a sliding
// window, in batch order. The window arithmetic is lib/ops/window.ts'.
import { Ring, WINDOW_OPTIONS, detached, Windowed, WindowSpec } from '../lib/ops/window.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface WindowOptions { length?: string, slide?: string }

const window: OperatorDefinition<WindowOptions> = {
  kind: 'operator',
  name: 'window',
  spark: 'window',
  group: 'windows',
  summary: 'the records of a sliding window, every slide',
  description: `
At every batch time that is a multiple of the slide, emits the records of the window:
the batches with times in (time - length, time], oldest batch first, each in its
order. Output batches have that time and interval = slide; at other times nothing is
emitted; a window without records is an empty batch. Windows at the start of a stream
are partial, as in Spark. Any record goes. The records of the window are held (and
checkpointed in the state directory: for long windows give --checkpoint-every N),
so memory grows with the window; to count or
reduce a window, the other window operators keep one result per batch instead.
--length and --slide must be multiples of the input interval; the slide may exceed
the length (then the batches between windows are skipped).`,
  positionals: [],
  options: WINDOW_OPTIONS,
  examples: [
    { command: 'window --length 2s', describe: 'the records of the last two seconds, every second', input: [[0], [1], [2], [3]], output: [[0], [0, 1], [1, 2], [2, 3]] },
    { command: 'window --length 4s --slide 2s', describe: 'every 2 seconds, the last 4', input: [[0], [1], [2], [3], [4], [5]], output: [[0, 1], [0, 1, 2, 3], [2, 3, 4, 5]] }
  ],
  input: 'chunks',
  init (opts) {
    const spec = new WindowSpec(window, opts)
    const windowed = new Windowed<unknown[]>(spec)
    let batch: unknown[] = []
    return {
      onBatch (records, info) {
        for (let i = 0; i < records.length; i++) batch.push(records[i])
        if (info.more) return undefined
        const part = batch.length ? batch : undefined
        batch = []
        return windowed.step(info.time, info.interval, part, end => windowed.ring.range(end - spec.length, end).flat(1).map(detached))
      },
      outputInterval: interval => spec.check(interval),
      snapshot: () => ({ ring: windowed.ring.toJSON(records => records) }),
      restore: state => { windowed.ring = Ring.fromJSON((state as { ring: Array<[number, unknown[]]> }).ring, records => records) }
    }
  }
}

export default window
