// Runs a pipeline of one or more operators (a fused `then` chain is several) in
// this process: builds each operator's context, links the Stages, reads stdin or
// starts the source, and turns errors into the exit codes of SPEC §4.
import fs from 'node:fs'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { Assembler } from '../core/assemble.js'
import { OperatorContext } from './context.js'
import { DeadLetter } from '../durability/deadLetter.js'
import { DstreamError, EXIT_FAILURE, UsageError, usage } from '../core/errors.js'
import { loadScope } from '../core/functions.js'
import { readChunks } from './input.js'
import { Output } from './output.js'
import { PartitionedState, Partitions, partitionPlan } from './partitions.js'
import { Serial } from '../core/serial.js'
import { Stage, type Durability, type Downstream } from './stage.js'
import { Checkpoint } from '../durability/checkpoint.js'
import { Commit } from '../durability/commit.js'
import { Component, nameOf } from '../durability/component.js'
import { MetricsFile, batchesKept, metricsDir, removeStale } from '../metrics/recorder.js'
import { BatchWatch } from '../metrics/watch.js'
import { formatChunk } from '../core/wire.js'
import type { Chunk, Common, Definition, Instance, Lag, OperatorDefinition, SourceHandle } from '../core/types.js'

export interface StageSpec {
  def: Definition
  opts: Record<string, any> & Common
  /** the URL of the module that exports `def`, for worker threads to load it (--partitions) */
  module?: string
}

export interface IO {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  env?: NodeJS.ProcessEnv
  /** where graceful-stop requests come from (SIGINT/SIGTERM in a process) */
  onStop?(stop: () => void): void
}

/** The end of the line: batches as NDJSON on stdout (their size counted for the last stage's metrics). */
class BatchWriter implements Downstream {
  constructor (private readonly out: Output, private readonly watch: BatchWatch | undefined) {}
  accept (chunk: Parameters<Downstream['accept']>[0]): void | Promise<void> {
    const line = formatChunk(chunk)
    this.watch?.wrote(Buffer.byteLength(line))
    return this.out.write(line)
  }

  end (): void {}
}

export async function run (specs: StageSpec[], io: IO): Promise<number> {
  const out = new Output(io.stdout)
  const contexts: OperatorContext[] = []
  const stderr = (text: string) => { io.stderr.write(text) }
  const noColour = 'NO_COLOR' in (io.env ?? process.env)
  const colour = { stdout: !noColour && (io.stdout as any).isTTY === true, stderr: !noColour && (io.stderr as any).isTTY === true }
  let handle: SourceHandle | undefined
  let partitions: Partitions | undefined
  let stopKeepAlive = () => {}
  let stopping = false
  const made: Array<{ def: Definition, opts: StageSpec['opts'], ctx: OperatorContext, instance?: Instance }> = []
  try {
    // Sinks register in the state directory first of all, before anything slow
    // (a broker to connect to): a source that restarts must know they wait.
    const commits = new Map(specs.filter(s => s.def.kind === 'operator' && s.def.sink).map(s => [s, sinkCommit(s.def as OperatorDefinition, s.opts)]))
    for (const { def, opts } of specs) {
      const ctx = new OperatorContext({
        name: def.name,
        onError: opts.onError,
        onBadInput: opts.onBadInput,
        deadLetter: new DeadLetter(opts.deadLetter ?? path.join(opts.stateDir, 'dead-letter.ndjson')),
        stateDir: opts.stateDir,
        scope: await loadScope(opts.require),
        stdout: text => out.write(text),
        stderr,
        colour,
        stderrIsTerminal: (io.stderr as any).isTTY === true
      })
      contexts.push(ctx)
      made.push(def.kind === 'operator' ? { def, opts, ctx, instance: await named(def.name, () => def.init(opts, ctx)) } : { def, opts, ctx })
    }
    // Each stage's metrics, the last DSTREAM_METRICS batches (0: none)
    const kept = await named(made[0].def.name, () => batchesKept((io.env ?? process.env).DSTREAM_METRICS))
    const watches = made.map((m, i) => kept === 0 ? undefined : stageWatch(m.def, m.opts, i, kept))
    // --partitions N: worker threads take over a keyed fold and the per-record operators before it
    const plan = await named(made[0].def.name, () => partitionPlan(specs))
    if (plan && 'refused' in plan) stderr(`dstream ${specs[plan.at].def.name}: ${plan.refused}\n`)
    const partitioned = plan && !('refused' in plan) ? plan : undefined
    // Link from the end: each Stage hands its output to the next.
    let next: Downstream = new BatchWriter(out, watches.at(-1))
    const withReaders: Array<Promise<void>> = []
    for (let i = made.length - 1; i >= 0; i--) {
      const m = made[i]
      if (m.def.kind !== 'operator') continue
      const withPaths: string[] = m.def.withStreams ? [].concat(m.opts.with ?? []) : []
      for (const file of withPaths) {
        if (!fs.existsSync(file)) throw new UsageError(`dstream ${m.def.name}: --with ${file}: no such file or FIFO`)
      }
      const spec = specs[i]
      const takenOver = partitioned && i === partitioned.to
      // split by key over worker threads: the Stage holds their merged output in the operator's place
      const byKey = takenOver && m.def.keyedPart ? new PartitionedState() : undefined
      const instance = byKey ?? m.instance!
      const stage: Stage = new Stage(m.def, instance, m.ctx, next, withPaths, commits.has(spec) ? { commit: commits.get(spec) } : durability(m.def, m.opts, instance), watches[i])
      withPaths.forEach((file, k) => withReaders.push(readWith(file, k + 1, stage, m.ctx)))
      next = stage
      if (takenOver) {
        // worker threads work on the batches, and this Stage takes them done
        const taken = specs.slice(partitioned.from, i + 1).map(s => ({ module: s.module!, opts: s.opts }))
        partitions = new Partitions({
          setup: { prefix: taken.slice(0, -1), keyed: taken[taken.length - 1] },
          partitions: partitioned.partitions,
          fold: byKey ? undefined : { reducer: m.def.combiner!(m.opts, m.ctx.scope), instance },
          byKey,
          contexts: made.slice(partitioned.from, i + 1).map(x => x.ctx),
          statePerInputPartition: m.def.kind === 'operator' && m.def.statePerInputPartition
        }, stage)
        next = partitions
        i = partitioned.from
      }
    }
    const head = next
    const first = made[0]
    // batches go out on stdout unless the last operator is an output that keeps them (print, save)
    const last = made[made.length - 1]
    if (last.def.kind === 'source' || last.def.group !== 'outputs' || last.instance?.passes) stopKeepAlive = out.keepAlive()
    io.onStop?.(() => {
      if (stopping) return
      stopping = true
      handle?.stop()
    })
    const main = async () => {
      if (first.def.kind === 'source') {
        const serial = new Serial()
        let measureLag: (() => Lag | undefined) | undefined
        const source = first.def
        const watch = watches[0]
        const emit = (chunk: Chunk) => {
          watch?.emitted(chunk)
          const sent = serial.run(() => head.accept(chunk))
          if (chunk.more || !watch) return sent
          // the batch is done once it has gone on; a source says how far behind it is
          const done = () => watch.done({ source: true, lag: measureLag?.() })
          if (sent) return sent.then(done)
          done()
        }
        handle = await named(source.name, () => source.start(first.opts, first.ctx, { emit, stdin: io.stdin, lag: m => { measureLag = m } }))
        if (stopping) handle.stop()
        await handle.done
      } else {
        await readChunks(io.stdin, first.ctx, (chunk, bytes) => head.accept(chunk, bytes))
      }
      await head.end()
    }
    // a failing --with stream fails the whole run, not just its reader
    await Promise.all([main(), ...withReaders])
    stopKeepAlive()
    await out.end()
    await handle?.settle?.()
    for (const ctx of contexts) ctx.reportSetAside()
    return 0
  } catch (err) {
    stopKeepAlive()
    handle?.stop()
    await partitions?.abort()
    for (const m of made) {
      try { await m.instance?.onAbort?.() } catch { /* the error that stopped the run is the one to report */ }
    }
    for (const ctx of contexts) ctx.reportSetAside()
    if (err instanceof DstreamError) {
      stderr(err.message.replace(/\n?$/, '\n'))
      return err.exitCode
    }
    stderr(`dstream ${specs.map(s => s.def.name).join(' then ')}: internal error: ${(err as Error)?.stack ?? err}\n`)
    return EXIT_FAILURE
  }
}

/**
 * How an operator takes part in the restart protocol (lib/durability/pipeline.ts): a stateful
 * one (snapshot/restore) keeps versions in DIR/NAME/, a sink commits there. Made
 * at start, so an unwritable state directory or another definition's state fails
 * before any batch.
 */
function durability (def: OperatorDefinition, opts: StageSpec['opts'], instance: Instance): Durability {
  if (!instance.snapshot || !instance.restore) return {}
  const every = opts.checkpointEvery ?? 1
  if (!Number.isInteger(every) || every < 1) throw usage(def, `--checkpoint-every must be a positive whole number, got ${every}`)
  const component = Component.of(def, opts, 'state')
  component.prepare()
  return { checkpoint: new Checkpoint(component), every }
}

/**
 * A stage's metrics file, DIR/metrics/NAME.PID.POSITION.ndjson, those of its earlier
 * runs removed; none when it cannot be written (a state directory that cannot be is
 * said by what needs it, not by the metrics).
 */
function stageWatch (def: Definition, opts: StageSpec['opts'], position: number, kept: number): BatchWatch | undefined {
  const dir = metricsDir(opts.stateDir)
  const name = nameOf(def, opts)
  try {
    removeStale(dir, name)
    return new BatchWatch(new MetricsFile(path.join(dir, `${name}.${process.pid}.${position}.ndjson`), { stage: def.name, name, pid: process.pid, position, started: Date.now() }, kept))
  } catch {
    return undefined
  }
}

function sinkCommit (def: OperatorDefinition, opts: StageSpec['opts']): Commit {
  const component = Component.of(def, opts, 'sink')
  component.prepare()
  return new Commit(component)
}

/** Errors raised while an operator starts (a function that does not compile) name it. */
async function named<T> (name: string, start: () => T | Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof DstreamError && !err.message.startsWith('dstream ')) err.message = `dstream ${name}: ${err.message}`
    throw err
  }
}

/** Reads a `--with STREAM` (a FIFO, a file, `<(...)`) into the stage's merger. */
async function readWith (file: string, stream: number, stage: Stage, ctx: OperatorContext): Promise<void> {
  const order = new Assembler()
  await readChunks(fs.createReadStream(file), ctx, chunk => stage.acceptOther(stream, chunk, order))
  await stage.merger!.end(stream)
}
