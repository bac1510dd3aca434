// Spark: PairDStreamFunctions.combineByKey. A batch is one partition, so every value
// of a key is folded into one combiner with CREATE and MERGE-VALUE; MERGE-COMBINERS,
// which Spark calls to join the combiners of different partitions, is compiled (a
// typo is a usage error) but never called. Spark's partitioner and mapSideCombine
// are not offered.
import { compileFunction } from '../lib/core/functions.js'
import { KeyedFold, PARTITIONS_OPTION, PARTITIONS_TEXT } from '../lib/ops/keyed.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface CombineByKeyOptions { create: string, mergeValue: string, mergeCombiners: string }

const combineByKey: OperatorDefinition<CombineByKeyOptions> = {
  kind: 'operator',
  name: 'combine-by-key',
  spark: 'combineByKey',
  group: 'per batch',
  summary: "each key's values of a batch combined with Spark's three functions",
  description: `
Records must be [key, value] pairs. For each batch, emits one [key, combiner] per
key: the key's first value becomes a combiner with CREATE, each further value is
folded in with MERGE-VALUE, in the order they came. The combiner may be of another
type than the values (a [sum, count] for an average).

MERGE-COMBINERS is how Spark joins the combiners built on different partitions, and
so it is here with --partitions N: N worker threads each fold their share of a
batch's chunks, and the shares' combiners of a key are joined with MERGE-COMBINERS
at the end of the batch. Without --partitions a batch is one partition, folded
across its chunks with MERGE-VALUE, and MERGE-COMBINERS is not called; it is
required all the same (and compiled, so a typo stops the command at once) so that a
Spark program's three functions port as they are. ${PARTITIONS_TEXT}

Keys compare by value, so array and object keys work; they leave in the order first
seen. A record that is not a pair is bad input.`,
  positionals: [
    { name: 'CREATE', key: 'create', describe: "the first value's combiner: (value) => combiner" },
    { name: 'MERGE-VALUE', key: 'mergeValue', describe: 'one more value folded in: (combiner, value) => combiner' },
    { name: 'MERGE-COMBINERS', key: 'mergeCombiners', describe: "two combiners joined: (c1, c2) => combiner (compiled, not called: a batch is one partition)" }
  ],
  options: PARTITIONS_OPTION,
  examples: [
    {
      command: "combine-by-key 'v => [v, 1]' '(c, v) => [c[0] + v, c[1] + 1]' '(a, b) => [a[0] + b[0], a[1] + b[1]]'",
      describe: "each key's [sum, count], for an average",
      input: [[['a', 4], ['b', 1], ['a', 2]], []],
      output: [[['a', [6, 2]], ['b', [1, 1]]], []]
    }
  ],
  input: 'chunks',
  combiner: (opts, scope) => ({
    lift: compileFunction(opts.create, scope, 'CREATE'),
    add: compileFunction(opts.mergeValue, scope, 'MERGE-VALUE'),
    merge: compileFunction(opts.mergeCombiners, scope, 'MERGE-COMBINERS')
  }),
  init (opts, ctx) {
    const fold = new KeyedFold(combineByKey.combiner!(opts, ctx.scope), ctx)
    return {
      onBatch (records, batch) {
        fold.fold(records)
        return batch.more ? undefined : fold.take()
      },
      onCombined: table => [...table.values()]
    }
  }
}

export default combineByKey
