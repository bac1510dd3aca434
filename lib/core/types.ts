// The shapes every operator and source is written against (SPEC §1, STYLE.md).
import type { Reducer } from './functions.js'

/** One line of the wire format: a chunk of the batch `time` (SPEC §1). */
export interface Chunk {
  time: number
  interval: number
  records: unknown[]
  /** true on every chunk of a batch but its last */
  more?: boolean
  /** top-level fields this version does not know, kept as they came */
  extra?: Record<string, unknown>
}

/** What an operator knows of the batch it is handed. */
export interface BatchInfo {
  time: number
  interval: number
  /** true when more chunks of this batch follow (chunk-wise operators only) */
  more: boolean
  /**
   * What the batch line carries besides its records, as it came (on a batch's last
   * chunk): a kafka source's offset ranges, and the group a sink is to commit them to
   */
  extra?: Record<string, unknown>
}

/**
 * What an operator returns for a batch (or chunk): the records to emit, or
 * `undefined` for "no batch at this time" (Spark's None), which differs from `[]`.
 */
export type Emit = unknown[] | undefined

/**
 * One option of a command, declared once: the command line (lib/cli) parses it as a
 * yargs option of the same shape, --help and the man page show `meta` as its value's
 * word, and `runOnly` marks an option that says how this run goes (--once, --from)
 * rather than what the operator computes: it is left out of the definition its state
 * is kept under.
 */
export interface OptionSpec {
  type?: 'string' | 'number' | 'boolean'
  describe?: string
  default?: unknown
  choices?: ReadonlyArray<string | number>
  alias?: string
  /** a repeatable option: every value, as an array */
  array?: boolean
  /** with array: one value per --option, so positionals after it stay positionals */
  nargs?: number
  /** required: missing, it is a usage error */
  demandOption?: boolean
  meta?: string
  runOnly?: boolean
  /** a URL that may hold a password: masked wherever it is kept or said (core/secrets.ts) */
  secret?: boolean
}

export type Group = 'sources' | 'per batch' | 'windows' | 'state' | 'event time' | 'outputs' | 'tools'

export interface Positional {
  /** as shown in the usage: FN, INTERVAL, HOST:PORT */
  name: string
  /** the property of the parsed options that holds it */
  key: string
  describe: string
  /** a positional that takes every remaining word (`foreach -- CMD ARGS`) */
  variadic?: boolean
  optional?: boolean
  /** a URL that may hold a password: masked wherever it is kept or said (core/secrets.ts) */
  secret?: boolean
}

export interface Example {
  /** the command line, without the leading `dstream` */
  command: string
  describe: string
  /** input lines (records for `input: 'records'`, else batch lines); run by the tests when given */
  input?: unknown[][]
  /** expected output batches' records, or the expected text */
  output?: unknown[][] | string
}

/** Services the runner offers an operator: errors, output text, where its files live. */
export interface Context {
  /** the operator's name, for messages */
  readonly name: string
  /** the batch being processed (set by the runner before each call) */
  readonly batch: BatchInfo | undefined
  /**
   * A record of the wrong shape. Throws a bad-input error (exit 65) unless the
   * user said `--on-bad-input skip`; then the record is dead-lettered and the
   * call returns, so the operator skips it. Sources, which have no batch in hand,
   * pass the time of the batch the record was bound for.
   */
  badRecord(record: unknown, reason: string, time?: number): void
  /** A record that is fine but cannot be used (later than the watermark): to the dead-letter file, counted, whatever --on-bad-input says. */
  setAside(record: unknown, reason: string, time?: number): void
  /**
   * Wraps a user function: a throw becomes an error naming the operator, the
   * batch time and the arguments (exit 65), or with `--on-error skip` a
   * dead-letter line, and the wrapper returns SKIP.
   */
  guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | typeof SKIP
  /** text for the terminal (print) */
  stdout(text: string): void | Promise<void>
  stderr(text: string): void
  /** whether colour may be used on each stream: a terminal, and no NO_COLOR */
  readonly colour: { stdout: boolean, stderr: boolean }
  /** whether stderr is a terminal (progress bars) */
  readonly stderrIsTerminal: boolean
  /** the pipeline's state directory (SPEC §3); created on first use by those who write there */
  readonly stateDir: string
  /** the objects exported by `--require` modules, in scope of every user function */
  readonly scope: Record<string, unknown>
}

/** The sentinel a guarded function returns when a failing record was skipped. */
export const SKIP: unique symbol = Symbol('skip')

export interface Instance {
  /**
   * Called for every batch (input 'batches'), or every chunk (input 'chunks',
   * `batch.more` tells whether more chunks follow). `others` holds the records
   * of the `--with` streams at the same time, for operators with `withStreams`.
   */
  onBatch(records: unknown[], batch: BatchInfo, others?: unknown[][]): Emit | Promise<Emit>
  /**
   * A whole batch done elsewhere (the worker threads of --partitions), called instead
   * of onBatch. Operators with a `combiner`: the batch folded as its own fold would
   * have left it, key id → [key, accumulator], keys in first-seen order.
   */
  onCombined?(table: Map<string, [unknown, unknown]>, batch: BatchInfo): Emit
  /** end of input: release what init took (processes, files) */
  onEnd?(): void | Promise<void>
  /**
   * A sink that forwards what it is given (--pass): a batch it skips because an
   * earlier run committed it still goes on, for the operators after it.
   */
  passes?: boolean
  /** the pipeline failed: drop half-done work (a sink's temporary file) */
  onAbort?(): void | Promise<void>
  /** operators with `withStreams`: how long (ms) to wait for a --with stream that is behind; unset: as long as it takes */
  maxWait?: number
  /**
   * The interval of what this operator emits, given its input's (a window's slide).
   * Called at the first batch; may throw a UsageError (a window that is not a
   * multiple of the interval). Without it the output keeps the input's interval.
   */
  outputInterval?(input: number): number
  /**
   * Stateful operators: the state as plain JSON, taken by the runner after a batch
   * to checkpoint it in DIR/NAME/ (SPEC §3), and given back by restore() at start.
   */
  snapshot?(): unknown
  restore?(state: unknown): void
  /** Stateful operators: how many keys (or records) the state holds now, for the metrics. */
  keys?(): number
}

export interface Common {
  stateDir: string
  name?: string
  onError: 'fail' | 'skip'
  onBadInput: 'fail' | 'skip'
  deadLetter?: string
  require: string[]
}

interface Documented {
  name: string
  /** Spark Streaming's name for it, or '—' */
  spark: string
  group: Group
  summary: string
  description: string
  positionals: Positional[]
  options: Record<string, OptionSpec>
  examples: Example[]
}

export interface OperatorDefinition<O = any> extends Documented {
  kind: 'operator'
  /** 'chunks': handed each chunk as it comes (stateless, folds); 'batches': whole batches */
  input: 'chunks' | 'batches'
  /** takes `--with STREAM...` and is handed their batches too */
  withStreams?: boolean
  /**
   * writes batches out of the pipeline for good (save, foreach): the Stage commits
   * each batch after it and skips what an earlier run committed (lib/durability/commit.ts)
   */
  sink?: boolean
  /**
   * Keeps its state per input partition when its batches come from a kafka source
   * (lib/systems/kafka/changelog.ts), which its --partitions threads do not: such
   * batches are refused there.
   */
  statePerInputPartition?: boolean
  /**
   * What it emits for a chunk depends on that chunk's records alone, taken one by one
   * (map, filter, flat-map): it may run on any share of a batch, in a worker thread,
   * in front of an operator given --partitions.
   */
  perRecord?: boolean
  /**
   * A per-batch fold by key (KeyedFold) whose shares merge: the reducer it folds
   * with, for --partitions N (worker threads fold shares of each batch, and the
   * shares' accumulators of a key are merged with `merge`, Spark's map-side combine).
   */
  combiner?(opts: O & Common, scope: Record<string, unknown>): Reducer & { builtin?: string }
  /**
   * Keyed state that splits by key, for --partitions N: what one worker thread keeps
   * and does for the keys `owns` gives it (update-state-by-key, map-with-state). The
   * threads' outputs merge by the places they give. The checkpoint is the threads'
   * merged snapshots, or, for a part without snapshot(), the merged output (then the
   * whole state as [key, state] pairs); either restores with any N.
   */
  keyedPart?(opts: O & Common, ctx: Context, owns: (key: unknown) => boolean): KeyedPart
  init(opts: O & Common, ctx: Context): Instance | Promise<Instance>
}

/** Records, each with its place in the order one thread would have given them (ascending). */
export interface Placed { records: unknown[], places: number[] }

/** What one worker thread keeps and does for its keys of an operator's state (OperatorDefinition.keyedPart). */
export interface KeyedPart {
  /**
   * A batch's [key, value] pairs of this thread's keys, in record order, with each
   * pair's place in the stream's record order (what a key new to the state keeps as
   * its first-seen place). Returns the thread's output, placed; `then`: output that
   * follows all of the threads' first output (map-with-state's timeouts).
   */
  batch(keys: unknown[], values: unknown[], places: number[]): Placed & { then?: Placed }
  /** The state as checkpointed, placed by first-seen place, when it is not the output. */
  snapshot?(): Placed
  /** How many keys it holds, when the output does not say. */
  size?(): number
  /** The operator's checkpoint, whole: the thread keeps its own keys of it. */
  restore(saved: unknown): void
}

/** What a source is given: where to send its chunks, and stdin; it never writes stdout itself. */
export interface SourceIO {
  /** returns a promise when the consumer wants the source to wait (backpressure); calls are serialised */
  emit(chunk: Chunk): void | Promise<void>
  stdin: import('node:stream').Readable
  /** How to tell how far behind its input the source is (records for kafka, bytes for tail, files for watch): asked after each batch, for the metrics. */
  lag(measure: () => Lag | undefined): void
}

export interface Lag { records?: number, bytes?: number, files?: number }

export interface SourceHandle {
  /** resolves when the source has closed its last batch */
  done: Promise<void>
  /** graceful stop (SIGINT/SIGTERM): close the open batch, then finish */
  stop(): void
  /**
   * After the source's output has ended: what it still does before the process
   * exits (kafka: commit the offsets of the batches the sinks commit meanwhile).
   */
  settle?(): Promise<void>
}

export interface SourceDefinition<O = any> extends Documented {
  kind: 'source'
  start(opts: O & Common, ctx: Context, io: SourceIO): SourceHandle | Promise<SourceHandle>
}

/** A command that is not part of a stream: `dstream state ls`. */
/** What a tool is given: its output, and for the live ones the terminal and the stop. */
export interface ToolIO {
  stdout(text: string): void
  stderr(text: string): void
  /** colour may be used on stdout: a terminal, and no NO_COLOR */
  colour: boolean
  /** stdout is a terminal: its size, and the keys typed (raw, until the returned function is called) */
  terminal?: { columns: number, rows: number, keys(listener: (key: string) => void): () => void }
  /** SIGINT or SIGTERM: a live tool stops (and returns) */
  onStop(stop: () => void): void
}

export interface ToolDefinition<O = any> extends Documented {
  kind: 'tool'
  run(opts: O & Common, io: ToolIO): number | Promise<number>
}

export type Definition = OperatorDefinition | SourceDefinition | ToolDefinition
