// What every line source (batch, socket, listen, exec, generate) shares: its options.
import { Batcher } from './batcher.js'
import { usage } from './cli.js'
import { parseDuration } from './durations.js'
import { EVENT_TIME_OPTIONS, WAL_OPTION } from './intake.js'
import type { OptionSpec } from './options.js'
import type { SourceDefinition, SourceIO } from './types.js'

export type { LineSourceOptions } from './intake.js'

export const INTERVAL_OPTION: Record<string, OptionSpec> = {
  interval: { type: 'string', meta: 'DUR', default: '1s', describe: 'the batch interval: 250ms, 5s, 1m ...' }
}

export const CHUNK_OPTION: Record<string, OptionSpec> = {
  chunk: { type: 'number', default: 1000, describe: 'most records in one chunk while the interval is open' }
}

export const LINE_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', default: false, describe: 'parse each line as JSON; a line that does not parse is bad input' },
  ...CHUNK_OPTION,
  ...EVENT_TIME_OPTIONS,
  ...WAL_OPTION
}

/** Processing-time batches of generated records (generate). */
export function lineBatcher (opts: { interval?: string, chunk: number }, def: SourceDefinition, io: Pick<SourceIO, 'emit'>): Batcher {
  let interval: number
  try {
    interval = parseDuration(opts.interval ?? '1s', 'interval')
  } catch (err) {
    throw usage(def, (err as Error).message)
  }
  if (!Number.isInteger(opts.chunk) || opts.chunk < 1) throw usage(def, `--chunk must be a positive whole number, got ${opts.chunk}`)
  return new Batcher(interval, opts.chunk, io)
}

/** A promise to race the input against, and the stop() that settles it. */
export function stopSignal (): { stopped: Promise<void>, stop: () => void } {
  let stop!: () => void
  const stopped = new Promise<void>(resolve => { stop = resolve })
  return { stopped, stop }
}
