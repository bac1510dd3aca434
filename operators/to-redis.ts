// Spark: foreachRDD with a Redis client, made exactly-once with Spark's
// "transactional updates": each batch is applied in one MULTI/EXEC together with a
// marker, the key dstream:commit:NAME set to the batch time, so the batch and
// "batch T is written" land together or not at all (lib/systems/redis/transaction.ts).
// Started again, the sink reads the marker and skips what it had written, so even
// HINCRBY, which is not idempotent, counts every record once. Unlike a database,
// Redis has no rollback: a command it refuses as it runs leaves the rest of the
// batch written; its record is set aside, and the sink stops (exit 65) unless told
// to skip such records.
import { BadInputError, DstreamError, RuntimeError, excerpt } from '../lib/core/errors.js'
import { SKIP, type OperatorDefinition } from '../lib/core/types.js'
import { nameOf } from '../lib/durability/component.js'
import { TRANSACTIONAL_OPTIONS, TransactionalSink } from '../lib/ops/transactional.js'
import { isRedisUrl, parseRedisUrl, urlFrom } from '../lib/systems/redis/client.js'
import { SHORTHAND_OPTIONS, compileCommands, type Command, type CommandOptions } from '../lib/systems/redis/commands.js'
import { QueueRefusal, RedisTarget, type Refusal } from '../lib/systems/redis/transaction.js'

interface ToRedisOptions extends CommandOptions { url?: string, urlFile?: string, giveUp?: string, pass: boolean }

const toRedis: OperatorDefinition<ToRedisOptions> = {
  kind: 'operator',
  name: 'to-redis',
  spark: 'foreachRDD + a Redis client',
  group: 'outputs',
  summary: 'every batch into Redis, in one MULTI/EXEC with a marker, exactly once',
  description: `
Applies the records of every batch to Redis, each batch in one MULTI/EXEC
transaction together with a marker, so that a batch replayed after a crash is
never applied twice, even with commands that are not idempotent (HINCRBY, INCRBY).

The commands of a record are those FN(record, time) gives: one command, an array
of its name and arguments (['HINCRBY', 'day:' + r.day, r.course, r.count]), a
list of commands, or [] for none; then those of the shorthand options --hincrby,
--hset, --incrby, --set and --zincrby, in that order, each repeatable, each
argument a function of the record ('_.day', or a constant in quotes: "'total'").
Arguments are strings or numbers. All of it is checked before anything is sent:
what is not a command is a bad record (exit 65, or with --on-bad-input skip set
aside in the dead-letter file), and so are MULTI, EXEC, WATCH, SELECT and the like,
which would break the transaction. A function that throws follows --on-error.

The marker is the key dstream:commit:NAME (NAME as in the state directory: --name,
else derived from the arguments), holding the time of the last batch written. A
batch is sent as WATCH and GET of the marker, then MULTI, its commands, SET of the
marker to its time, EXEC, only when the marker is below its time; if the marker
moves in between, EXEC does nothing and the marker is read again. Started again,
to-redis reads the marker and skips every batch up to it. Two pipelines writing
the same arguments into one Redis would share the marker: give each its own --name.

Redis has no rollback. A command that Redis refuses as it is queued (an unknown
command, the wrong number of arguments) aborts the transaction: nothing of the
batch is written, and its record is a bad record (with --on-bad-input skip the
batch is written without it). But a command that Redis refuses as it runs
(WRONGTYPE, HINCRBY on a field that holds no integer) does not undo the others:
the rest of the batch and the marker are written, once. Its record is always set
aside in the dead-letter file, so nothing is lost, and to-redis then stops with
exit 65 naming the batch, the command and the record, unless --on-bad-input skip.
Started again, it does not write that batch a second time.

URL is redis://[USER:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS (a private
CA: NODE_EXTRA_CA_CERTS=FILE), the user and password sent with AUTH; without it,
--url-file FILE holds the URL, else $DSTREAM_REDIS_URL, else redis://127.0.0.1:6379.
A lone argument is URL when it starts with redis:// or rediss://, else FN.
Passwords are masked in every message and in the state directory.

A server that cannot be reached, or is loading, busy or out of memory, is tried
again on a new connection, 100 ms later, then twice as long each time up to 5 s,
each failure said on stderr; the batch and those behind it wait, nothing is lost.
With --give-up DUR, to-redis stops with exit 1 once the server has failed that
long. Credentials refused, a certificate not trusted or a missing permission exit 1
at once. A batch is one transaction however large: Redis runs it without another
client's command in between. Redis Cluster is not supported.

Writes nothing on stdout unless --pass, which forwards the batches unchanged.`,
  positionals: [
    { name: 'URL', key: 'url', optional: true, secret: true, describe: 'the server: redis://[USER:PASSWORD@]HOST[:PORT][/DB] or rediss:// (default: --url-file, $DSTREAM_REDIS_URL, redis://127.0.0.1:6379)' },
    { name: 'FN', key: 'fn', optional: true, describe: "a record's commands: (record, time) => one command ['HINCRBY', key, field, n], a list of them, or []" }
  ],
  options: {
    ...SHORTHAND_OPTIONS,
    'url-file': { type: 'string', meta: 'FILE', runOnly: true, describe: 'read URL from FILE (so that no password stands on the command line)' },
    ...TRANSACTIONAL_OPTIONS
  },
  examples: [
    { command: "to-redis redis://localhost:6379 \"r => ['HINCRBY', 'day_course:' + r.day, r.course, r.count]\"", describe: 'course counts per day, one hash per day' },
    { command: "to-redis --hincrby \"'day_course:' + _.day\" _.course _.count", describe: 'the same with the shorthand; the server from $DSTREAM_REDIS_URL' },
    { command: "to-redis --url-file redis.url \"([w, n]) => [['ZINCRBY', 'words', n, w], ['INCRBY', 'words:total', n]]\"", describe: 'word counts (from reduce-by-key) into a sorted set and a total; the URL and its password in a file' },
    { command: "to-redis --set \"'user:' + _.id\" _ --pass | dstream print", describe: 'each record as JSON under its id, and the batches go on to print' }
  ],
  input: 'batches',
  sink: true,
  async init (opts, ctx) {
    // one word is URL or FN, told apart by the scheme
    const [url, fn] = opts.fn === undefined && !isRedisUrl(opts.url) ? [undefined, opts.url] : [opts.url, opts.fn]
    const server = parseRedisUrl(toRedis, urlFrom(toRedis, url, opts.urlFile, process.env))
    const commandsOf = compileCommands(toRedis, { ...opts, fn }, ctx)
    const markerKey = `dstream:commit:${nameOf(toRedis, opts)}`
    const say = (text: string) => ctx.stderr(`dstream to-redis: ${text}\n`)
    const target = new RedisTarget(server, markerKey)
    const failure = (err: unknown) => `${target.describe(err)}${target.transient(err) ? `; given up after --give-up ${opts.giveUp}` : ''}`
    let sink: TransactionalSink
    try {
      sink = await TransactionalSink.open(target, toRedis, opts, say)
    } catch (err) {
      target.abort()
      if (err instanceof DstreamError) throw err
      throw new RuntimeError(`dstream to-redis: at start: ${failure(err)}`)
    }
    if (sink.written !== null) say(`batches up to ${sink.written} are in ${server.where} already (${markerKey}); those that come again are skipped`)
    let skipped = false

    return {
      passes: opts.pass,
      async onBatch (records, batch) {
        if (sink.has(batch.time)) {
          if (!skipped) say(`batch ${batch.time} comes again: written by an earlier run (the marker is at ${sink.written}), so skipped`)
          skipped = true
          return opts.pass ? records : undefined
        }
        // every command with the index of its record, all checked before anything is sent
        let sent: Array<{ of: number, command: Command }> = []
        records.forEach((record, of) => {
          const commands = commandsOf(record, batch.time)
          if (typeof commands === 'string') ctx.badRecord(record, commands)
          else if (commands !== SKIP) sent.push(...commands.map(command => ({ of, command })))
        })
        const refusal = (r: Refusal) => `Redis refused ${excerpt(sent[r.index].command)}: ${r.error}`
        let refused: Refusal[] | undefined
        for (;;) {
          try {
            await sink.write(batch.time, async () => { refused = await target.apply(batch.time, sent.map(s => s.command)) })
            break
          } catch (err) {
            if (!(err instanceof QueueRefusal)) throw new RuntimeError(`dstream to-redis: batch ${batch.time}: ${failure(err)}`)
            // nothing was written: the records of the commands Redis refused are bad; the rest goes again without them
            const bad = new Set<number>()
            for (const r of err.refusals) {
              if (!bad.has(sent[r.index].of)) ctx.badRecord(records[sent[r.index].of], `${refusal(r)}; nothing of batch ${batch.time} was written`)
              bad.add(sent[r.index].of)
            }
            sent = sent.filter(s => !bad.has(s.of))
          }
        }
        if (refused === undefined) {
          // the marker was there when this attempt looked: the answer to the EXEC that set it never came
          say(`batch ${batch.time}: found written already (by an attempt whose answer was lost, or by another pipeline under the same name); not written again, and whether Redis refused any of its commands is not known`)
          return opts.pass ? records : undefined
        }
        // refused as they ran: the rest of the batch, and the marker, are written
        for (const r of refused) ctx.setAside(records[sent[r.index].of], refusal(r), batch.time)
        if (refused.length > 0 && opts.onBadInput !== 'skip') {
          const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : ''
          throw new BadInputError(`dstream to-redis: batch ${batch.time}: ${refusal(refused[0])}${more}\n  on record ${excerpt(records[sent[refused[0].index].of])}\n` +
            `  Redis has no rollback: the rest of batch ${batch.time} was applied, once (a restart does not apply it again), and the refused records are in the dead-letter file\n` +
            '  (use --on-bad-input skip to set such records aside and go on)')
        }
        return opts.pass ? records : undefined
      },
      async onEnd () { await target.close() },
      onAbort () { target.abort() }
    }
  }
}

export default toRedis
