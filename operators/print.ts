// Spark: DStream.print / pprint. Spark's exact format, a header for every batch
// (empty ones too), at most --num records, then "...". Chunk by chunk, so a huge
// batch is never held: only a count is kept.
import { Chalk } from 'chalk'
import { showRecord } from '../lib/ops/show.js'
import type { OperatorDefinition } from '../lib/core/types.js'
import { usage } from '../lib/core/errors.js'

interface PrintOptions { num: number, pass: boolean }

const RULE = '-------------------------------------------'

const print: OperatorDefinition<PrintOptions> = {
  kind: 'operator',
  name: 'print',
  spark: 'print / pprint',
  group: 'outputs',
  summary: "every batch in Spark's print format",
  description: `
Prints every batch as Spark does: a header with the batch time, then the first
--num records, one a line, then "..." if the batch has more, then a blank line.
Pairs show as (k,v), strings bare, other values as JSON. Empty batches print
their header, so you see the clock.

Colour only when the output is a terminal, never when NO_COLOR is set. With
--pass the text goes to stderr and the stream goes on unchanged on stdout, so
print can sit in the middle of a pipeline.`,
  positionals: [],
  options: {
    num: { alias: 'n', type: 'number', default: 10, describe: 'most records printed per batch' },
    pass: { type: 'boolean', default: false, describe: 'print to stderr and forward the batches on stdout' }
  },
  examples: [
    {
      command: 'print',
      describe: 'the word count as Spark prints it',
      input: [[['hello', 3], ['world', 1]], []],
      output: `${RULE}\nTime: 1000 ms\n${RULE}\n(hello,3)\n(world,1)\n\n${RULE}\nTime: 2000 ms\n${RULE}\n\n`
    },
    {
      command: 'print --num 2',
      describe: 'at most two records, then ...',
      input: [['a', 'b', 'c']],
      output: `${RULE}\nTime: 1000 ms\n${RULE}\na\nb\n...\n\n`
    }
  ],
  input: 'chunks',
  init (opts, ctx) {
    if (!Number.isInteger(opts.num) || opts.num < 0) throw usage(print, `--num must be a whole number, got ${opts.num}`)
    const paint = new Chalk({ level: (opts.pass ? ctx.colour.stderr : ctx.colour.stdout) ? 1 : 0 })
    let seen = 0
    let open: number | undefined
    return {
      passes: opts.pass,
      onBatch (records, batch) {
        let text = ''
        if (open !== batch.time) {
          open = batch.time
          seen = 0
          text += paint.dim(RULE) + '\n' + paint.bold(`Time: ${batch.time} ms`) + '\n' + paint.dim(RULE) + '\n'
        }
        for (let i = 0; i < records.length && seen + i < opts.num; i++) text += showRecord(records[i]) + '\n'
        seen += records.length
        if (!batch.more) {
          if (seen > opts.num) text += '...\n'
          text += '\n'
          open = undefined
        }
        if (opts.pass) {
          ctx.stderr(text)
          return records
        }
        const wait = ctx.stdout(text)
        return wait ? wait.then(() => undefined) : undefined
      }
    }
  }
}

export default print
