// Spark: DStream.transform, and transformWith joined against static data. FN gets
// the whole batch as an array instead of an RDD, and its time; Spark's RDDs from
// outside the stream are the --with datasets (lib/ops/dataset.ts), in env by name.
// Streams to combine batch by batch (transformWith of two DStreams) are union's and
// join's --with.
import { Dataset } from '../lib/ops/dataset.js'
import { UsageError, usage } from '../lib/core/errors.js'
import { compileFunction } from '../lib/core/functions.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'

interface TransformOptions { fn: string, with?: string[] }

const transform: OperatorDefinition<TransformOptions> = {
  kind: 'operator',
  name: 'transform',
  spark: 'transform / transformWith',
  group: 'per batch',
  summary: 'FN applied to every whole batch: (records, time, env) => records',
  description: `
Calls FN once for every batch with the batch's records (an array), its time in ms
and env, and emits the array FN returns (FN may be async). FN can do what no
per-record operator can: sort, dedupe, sample, number the records, compare them
with data from outside the stream.

Each --with NAME=FILE loads a dataset into env.NAME: a file holding one JSON array,
or NDJSON (one JSON value a line; .ndjson and .jsonl files are always read as
NDJSON). Before each batch the file's size and time are checked, and a changed file
is read again, so a lookup table can be updated while the stream runs. A file that
has gone, or does not parse after a change, leaves the version read before in use,
and says so on stderr once per change. A file missing at the start is a usage error.

FN must return an array; anything else is bad input (exit 65).`,
  positionals: [{ name: 'FN', key: 'fn', describe: 'the function: (records, time, env) => records' }],
  options: {
    with: { type: 'string', array: true, nargs: 1, meta: 'NAME=FILE', describe: 'load FILE as env.NAME, reloaded when it changes (repeatable)' }
  },
  examples: [
    { command: "transform 'rs => [...new Set(rs)].sort()'", describe: 'the distinct records of every batch, sorted', input: [['b', 'a', 'b'], []], output: [['a', 'b'], []] },
    { command: "transform '(rs, t) => rs.map((r, i) => [t + i, r])'", describe: 'number the records of a batch from its time', input: [['x', 'y'], ['z']], output: [[[1000, 'x'], [1001, 'y']], [[2000, 'z']]] },
    { command: "transform '(rs, t, env) => rs.filter(ip => !env.blocked.includes(ip))' --with blocked=blocked.json", describe: 'drop the records listed in a file that may change while the stream runs' }
  ],
  input: 'batches',
  init (opts, ctx) {
    const fn = compileFunction(opts.fn, ctx.scope)
    const specs = (opts.with ?? []).map(spec => {
      const [, name, file] = /^([^=]+)=(.+)$/.exec(spec) ?? []
      if (!name) throw usage(transform, `--with expects NAME=FILE, got '${spec}'`)
      return { name, file }
    })
    const twice = specs.find((s, i) => specs.findIndex(o => o.name === s.name) !== i)
    if (twice) throw usage(transform, `--with ${twice.name} given twice`)
    const datasets = specs.map(({ name, file }) => {
      try {
        return [name, new Dataset(file, reason => ctx.stderr(`dstream ${ctx.name}: batch ${ctx.batch?.time}: --with ${name}: ${reason}\n`))] as const
      } catch (err) {
        throw err instanceof UsageError ? usage(transform, `--with ${name}=${err.message}`) : err
      }
    })
    let env: Record<string, unknown[]> = {}
    // env stays out of the guarded arguments, so an error shows the batch, not the datasets
    const apply = ctx.guard((records: unknown[], time: number) => fn(records, time, env))
    return {
      async onBatch (records, batch) {
        env = Object.fromEntries(datasets.map(([name, data]) => [name, data.current()]))
        let out = apply(records, batch.time)
        if (typeof (out as any)?.then === 'function') {
          try {
            out = await out
          } catch (err) {
            // an async FN's rejection goes the way of a throw
            out = ctx.guard((_records: unknown[], _time: number) => { throw err })(records, batch.time)
          }
        }
        if (out === SKIP) return []
        if (!Array.isArray(out)) {
          ctx.badRecord(out, 'FN must return an array of records, but returned')
          return []
        }
        return out
      }
    }
  }
}

export default transform
