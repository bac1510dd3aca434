// Spark: DStream.saveAsTextFiles. Differences: each batch is one file
// PREFIX-TIME[.SUFFIX], not a directory of part files, and it is written atomically
// (lib/durability/atomicFile.ts), so a replayed batch replaces its file. Chunk by chunk: a
// huge batch streams into the temporary file and is never held.
import path from 'node:path'
import { AtomicFile, removeStaleTemporaries } from '../lib/durability/atomicFile.js'
import { RuntimeError } from '../lib/core/errors.js'
import { plainText } from '../lib/ops/show.js'
import type { OperatorDefinition } from '../lib/core/types.js'

interface SaveOptions { prefix: string, suffix?: string, skipEmpty: boolean, pass: boolean }

const save: OperatorDefinition<SaveOptions> = {
  kind: 'operator',
  name: 'save',
  spark: 'saveAsTextFiles',
  group: 'outputs',
  summary: 'every batch to the file PREFIX-TIME[.SUFFIX]',
  description: `
Writes every batch to the file PREFIX-TIME, or PREFIX-TIME.SUFFIX, where TIME is
the batch time in ms; PREFIX may name a directory, which is created. One record a
line: strings bare, other values as JSON (a string holding a newline spans two
lines, as in Spark). An empty batch gives an empty file, unless --skip-empty.

Spark writes a directory of part files per batch; save writes one file. The file
is written atomically: the records go into a hidden temporary file in the same
directory as they come (a batch in many chunks is never held in memory), which is
synced and renamed into place when the batch ends. A reader never sees half a
file, and a batch written again (a replay after a restart) replaces its file. When
the pipeline stops on an error the temporary file is removed. A process killed
outright (kill -9) inside a batch leaves its hidden .NAME.PID-N.tmp file behind;
the next run of save removes it: at its start save removes the temporary files of
its own files (PREFIX-TIME) whose process is gone, never those of a live process.

Writes nothing on stdout unless --pass, which forwards the batches unchanged.
A file that cannot be written stops save with exit 1.`,
  positionals: [
    { name: 'PREFIX', key: 'prefix', describe: 'the start of every file name, e.g. out/counts' },
    { name: 'SUFFIX', key: 'suffix', describe: 'the file name extension, e.g. txt', optional: true }
  ],
  options: {
    'skip-empty': { type: 'boolean', default: false, describe: 'write no file for an empty batch' },
    pass: { type: 'boolean', default: false, describe: 'forward the batches on stdout' }
  },
  examples: [
    { command: 'save out/counts txt', describe: 'out/counts-1700000005000.txt, out/counts-1700000010000.txt, ...' },
    { command: 'save logs/errors --skip-empty --pass', describe: 'a file only for batches that have records, and the stream goes on' }
  ],
  input: 'chunks',
  sink: true,
  async init (opts, ctx) {
    // what an earlier save killed outright inside a batch left behind
    const start = `${opts.prefix}-`
    await removeStaleTemporaries(path.dirname(start), path.basename(start)).catch((err: Error) => {
      throw new RuntimeError(`dstream ${ctx.name}: cannot remove stale temporary files in ${path.dirname(start)}: ${err.message}`)
    })
    let open: AtomicFile | undefined
    return {
      passes: opts.pass,
      async onBatch (records, batch) {
        const file = `${opts.prefix}-${batch.time}${opts.suffix ? '.' + opts.suffix : ''}`
        try {
          if (records.length > 0 || (!batch.more && !opts.skipEmpty)) open ??= await AtomicFile.open(file)
          if (records.length > 0) await open!.write(records.map(plainText).join('\n') + '\n')
          if (!batch.more && open) {
            await open.commit()
            open = undefined
          }
        } catch (err) {
          await open?.abort()
          open = undefined
          throw new RuntimeError(`dstream ${ctx.name}: batch ${batch.time}: cannot write ${file}: ${(err as Error).message}`)
        }
        return opts.pass ? records : undefined
      },
      async onAbort () {
        await open?.abort()
      }
    }
  }
}

export default save
