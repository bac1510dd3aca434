// What the tests of the window operators share: a state directory passed on from
// run to run (for restarts), multiset comparison of batches as Spark's suite does, and the restart check.
import { canonicalJson } from '../lib/core/keys.js'
import { freshDir, runTable, type Ran, type TableOptions } from './helpers.js'

/** runTable with a state directory of its own (or the one given). */
export function runWindow (words: string[], input: unknown[][], options: TableOptions & { stateDir?: string } = {}): Promise<Ran> {
  return runTable([...words, '--state-dir', options.stateDir ?? freshDir()], input, options)
}

/** Batches as multisets, the way Spark's WindowOperationsSuite compares them. */
export function sorted (batches: unknown[][]): unknown[][] {
  return batches.map(records => [...records].sort((a, b) => canonicalJson(a) < canonicalJson(b) ? -1 : canonicalJson(a) > canonicalJson(b) ? 1 : 0))
}

/**
 * Stops a run after each batch k and starts it again on the rest with the same state
 * directory: the two outputs joined must be the uninterrupted run's, batch for batch.
 */
export async function checkRestart (t: { same: (a: unknown, b: unknown, m: string) => void }, words: string[], input: unknown[][], interval = 1000): Promise<void> {
  const shape = (ran: Ran) => ran.batches.map(b => [b.time, b.interval, b.records])
  const whole = shape(await runWindow(words, input, { interval }))
  for (let k = 1; k < input.length; k++) {
    const stateDir = freshDir()
    const first = await runWindow(words, input.slice(0, k), { interval, stateDir })
    const second = await runWindow(words, input.slice(k), { interval, start: (k + 1) * interval, stateDir })
    t.same([...shape(first), ...shape(second)], whole, `${words.join(' ')}: stopped after batch ${k} and restarted, same output`)
  }
}
