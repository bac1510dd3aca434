// Instances of one pipeline for the scale-out tests (test/e2e/crash-group*.test.ts):
// each a shell pipeline with its own state directory, started again whenever it
// dies until it is stopped, each process's pid in a file so that one can be killed.
import fs from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import { seedFromEnv, sleep } from './crash.js'
import { DSTREAM } from './helpers.js'
import { createTopic, deleteTopics, pipeline, uniqueName, within, type Pipeline } from './kafkaHelpers.js'
import { shellQuote } from '../lib/ops/show.js'

/**
 * What a scale-out test starts from: its seed (said, to run it again), an input
 * topic of `partitions`, an output topic of 3, a group, and the list of instances,
 * killed and the topics removed when the test ends.
 */
export async function groupGround (t: Test, brokers: string, prefix: string, partitions: number): Promise<{ seed: number, input: string, output: string, group: string, instances: Instance[] }> {
  const seed = seedFromEnv()
  t.comment(`seed ${seed} (DSTREAM_CRASH_SEED=${seed} runs these kills again)`)
  const input = uniqueName(`${prefix}-in`)
  const output = uniqueName(`${prefix}-out`)
  const group = uniqueName(`${prefix}-g`)
  const instances: Instance[] = []
  t.teardown(async () => {
    for (const i of instances) i.current?.signal('SIGKILL')
    await deleteTopics(brokers, [input, output])
  })
  await createTopic(brokers, input, partitions)
  await createTopic(brokers, output, 3)
  return { seed, input, output, group, instances }
}

/** One instance: its pipeline started again whenever it dies, until stopped; every process's pid in a file, to kill one. */
export class Instance {
  current: Pipeline | undefined
  runs = 0
  private stopping = false
  private readonly pids: string
  readonly looping: Promise<void>

  constructor (readonly name: string, private readonly dir: string, private readonly stages: string[][], restartAfter: () => number, private readonly log: (text: string) => void) {
    this.pids = path.join(dir, 'pids')
    fs.mkdirSync(this.pids, { recursive: true })
    this.looping = this.loop(restartAfter)
  }

  private async loop (restartAfter: () => number): Promise<void> {
    while (!this.stopping) {
      for (const f of fs.readdirSync(this.pids)) fs.rmSync(path.join(this.pids, f))
      const commands = this.stages.map((words, i) => `bash -c 'echo $$ > "$0"; exec "$@"' ${shellQuote([path.join(this.pids, String(i)), DSTREAM, ...words])}`)
      const p = pipeline(`cd ${shellQuote([this.dir])} && ${commands.join(' | ')}`, { DSTREAM_STATE_DIR: path.join(this.dir, 'state') })
      this.current = p
      this.runs++
      const code = await p.closed
      fs.appendFileSync(path.join(this.dir, 'stderr.log'), `--- run ${this.runs}: exit ${code}\n${p.timed()}`)
      if (this.stopping) return
      const wait = restartAfter()
      this.log(`${this.name}: run ${this.runs} ended (exit ${code}); started again in ${wait} ms`)
      await sleep(wait)
    }
  }

  /** SIGKILL one process of the running pipeline; false when it is not running. */
  kill (stage: number): boolean {
    const file = path.join(this.pids, String(stage))
    if (!this.current?.running() || !fs.existsSync(file)) return false
    try {
      process.kill(Number(fs.readFileSync(file, 'utf8')), 'SIGKILL')
      return true
    } catch {
      return false
    }
  }

  /** A graceful stop (Ctrl-C) of the pipeline running now; its exit code. */
  async stop (): Promise<number | null | 'still running'> {
    // one waiting to be started again is let start first: the stop is of a running pipeline
    for (let i = 0; i < 200 && !this.current?.running(); i++) await sleep(100)
    this.stopping = true
    const p = this.current!
    p.signal('SIGINT')
    const code = await within(p.closed, 90_000, 'still running' as const)
    if (code === 'still running') p.signal('SIGKILL')
    await this.looping
    return code
  }
}
