// Spark: FlumeUtils.createStream, the push-based receiver a Flume agent's avro sink
// delivers to, made reliable the way Spark's reliable receivers are: a batch of events
// is answered OK only once it is in the source's write-ahead log, so an event Flume
// saw acknowledged is never lost, and what was not acknowledged stays in Flume's
// channel and comes again. The protocol is lib/systems/flume/; the log and its replay are
// the --wal machinery of the line sources (lib/intake/wal.ts, replayable.ts).
import { RuntimeError, usage } from '../lib/core/errors.js'
import { SKIP, type SourceDefinition } from '../lib/core/types.js'
import { Component } from '../lib/durability/component.js'
import type { FlumeEvent, Status } from '../lib/systems/flume/protocol.js'
import { RecentIds } from '../lib/systems/flume/recentIds.js'
import type { FlumeServer } from '../lib/systems/flume/server.js'
import { formatAddress, parseAddress } from '../lib/intake/address.js'
import { batching } from '../lib/intake/batching.js'
import { CHUNK_OPTION, EVENT_TIME_OPTIONS, INTERVAL_OPTION, type BatchingOptions } from '../lib/intake/options.js'
import { ReplayableIntake } from '../lib/intake/replayable.js'
import { stopSignal } from '../lib/intake/stop.js'
import { Wal } from '../lib/intake/wal.js'

interface FlumeOptions extends BatchingOptions {
  address: string
  withHeaders: boolean
  idHeader?: string
  remember: number
  maxPending: number
}

/** An event as the log keeps it, one JSON line: its headers and its body as text. */
interface Logged { h: Record<string, string>, b: string }

const flume: SourceDefinition<FlumeOptions> = {
  kind: 'source',
  name: 'flume',
  spark: 'FlumeUtils.createStream (push-based receiver)',
  group: 'sources',
  summary: "events pushed by Flume's avro sink, acknowledged once logged",
  description: `
Serves on PORT what a Flume agent's avro sink pushes (Avro RPC over Netty, Flume's
AvroSourceProtocol: append and appendBatch), and emits the events as batches of
--interval by processing time (or by --event-time), every interval a batch, empty
while no event comes. A record is an event's body as UTF-8 text; with --json the
body parsed as JSON; with --with-headers an object {headers, body}. Several agents
may push at once; the events of all go into the same batches.

Point the sink at it:

  agent.sinks.k1.type = avro
  agent.sinks.k1.hostname = 127.0.0.1
  agent.sinks.k1.port = 4545

Reliable, like Spark's reliable receivers: a request is answered OK only once its
events are in the source's log in the state directory (DIR/NAME/, the WAL of the
line sources' --wal: written, not synced per request, so they survive dstream flume
killed outright, not the machine losing power). Killed and started again, it first
emits again, with the same times and records, the batches the pipeline's sinks had
not committed, and the events it had logged, then serves again; what it had not
answered, the sink sends again from its channel.

So without --id-header every event arrives at least once: an event logged whose
answer was lost (dstream flume killed between the two, or the connection) comes
again. With --id-header NAME (Flume's UUID interceptor puts an id in a header of
every event: interceptors.i1.type =
org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder, or any header that
names an event once) an event whose id is among the last --remember ids taken is
dropped, and the pipeline is exactly once; those ids are kept in DIR/NAME/ids.log
too. An event without the header is taken as it is.

Backpressure: when the pipeline is behind by --max-pending events (logged, not yet
taken into a batch), a request is answered FAILED without being logged: the sink
backs off and its channel holds the events meanwhile; memory stays bounded.

A sink with compression-type = deflate is understood (each connection is told apart
by its first byte). SSL (ssl = true) is not supported: such a connection is refused
with a message saying so. A client that sends something else than Avro RPC of this
protocol, or a truncated request, has its connection closed and is named on stderr;
the others are served on.

It binds 127.0.0.1 unless a HOST is given (0.0.0.0 for every interface), and says
where it listens on stderr. On SIGINT or SIGTERM it stops taking connections,
answers the requests in hand, closes the open batch and exits 0. A port in use is
exit 1.`,
  positionals: [{ name: '[HOST:]PORT', key: 'address', describe: 'where to listen: 4545, 0.0.0.0:4545; 0 picks a free port' }],
  options: {
    ...INTERVAL_OPTION,
    json: { type: 'boolean', default: false, describe: "parse each event's body as JSON; a body that does not parse is bad input" },
    'with-headers': { type: 'boolean', default: false, describe: 'records are {headers, body}, not the body alone' },
    ...CHUNK_OPTION,
    ...EVENT_TIME_OPTIONS,
    'id-header': { type: 'string', meta: 'NAME', describe: 'the header that names each event once (Flume\'s UUID interceptor): an event sent again is dropped' },
    remember: { type: 'number', default: 100000, meta: 'N', describe: 'with --id-header: how many of the last ids are known' },
    'max-pending': { type: 'number', default: 100000, meta: 'N', describe: 'events logged and not yet batched, beyond which requests are answered FAILED' }
  },
  examples: [
    { command: 'flume 4545 --interval 5s | dstream count | dstream print', describe: 'the events an avro sink pushes to port 4545, counted every 5 seconds' },
    { command: "flume 4545 --with-headers --id-header eventId | dstream map '_.headers.host + \" \" + _.body' | dstream save out/events txt", describe: 'exactly once, with the UUID interceptor putting eventId on every event' }
  ],
  async start (opts, ctx, io) {
    const address = parseAddress(opts.address, { defaultHost: '127.0.0.1', allowZero: true })
    if (typeof address === 'string') throw usage(flume, address)
    for (const [flag, n] of [['--remember', opts.remember], ['--max-pending', opts.maxPending]] as const) {
      if (!Number.isInteger(n) || n < 1) throw usage(flume, `${flag} must be a positive whole number, got ${n}`)
    }
    const say = (text: string) => ctx.stderr(`dstream flume: ${text}\n`)
    const component = Component.of(flume, opts, 'source')
    const idHeader = opts.idHeader
    let seen: RecentIds | undefined

    // a logged line back into a record; its id, if any, is known from then on (a replay after a crash included)
    const b = batching(opts, flume, ctx, io)
    const toRecord = (line: string, time: number): unknown => {
      const event = JSON.parse(line) as Logged
      if (idHeader && seen && event.h[idHeader] !== undefined) seen.add([event.h[idHeader]])
      let body: unknown = event.b
      if (opts.json) {
        try {
          body = JSON.parse(event.b)
        } catch (err) {
          ctx.badRecord(opts.withHeaders ? { headers: event.h, body: event.b } : event.b, `the body is not JSON (${(err as Error).message})`, time)
          return SKIP
        }
      }
      return opts.withHeaders ? { headers: event.h, body } : body
    }

    const { stopped, stop } = stopSignal()
    let server: FlumeServer
    let ready!: () => void
    const opened = new Promise<void>(resolve => { ready = resolve })
    let pending = 0
    let behindSaid = false
    let failure: unknown
    const take = async (events: FlumeEvent[]): Promise<Status> => {
      await opened
      if (failure) return 'FAILED'
      if (pending >= opts.maxPending) {
        if (!behindSaid) say(`the pipeline is ${pending} events behind (--max-pending ${opts.maxPending}): answering FAILED, so that the sinks send again later`)
        behindSaid = true
        return 'FAILED'
      }
      behindSaid = false
      const fresh = seen && idHeader ? events.filter(e => e.headers[idHeader] === undefined || !seen!.has(e.headers[idHeader])) : events
      if (fresh.length === 0) return 'OK'
      const bodies = fresh.map(e => e.body.toString('utf8'))
      const lines = fresh.map((e, i) => JSON.stringify({ h: e.headers, b: bodies[i] } satisfies Logged))
      // in the log before the answer goes, and the ids known: a sink that sends the batch again finds them
      let taken: Promise<void>
      try {
        // the records as they are, unless the bodies are to be parsed (then bad ones are found as batched)
        const records = opts.json ? undefined : opts.withHeaders ? fresh.map((e, i) => ({ headers: e.headers, body: bodies[i] })) : bodies
        taken = intake.logRead(wal.append(lines), lines, records)
        if (seen) seen.add(fresh.flatMap(e => e.headers[idHeader!] === undefined ? [] : [e.headers[idHeader!]]))
      } catch (err) {
        // the log cannot be written: nothing more is answered OK, and the source stops
        failure ??= err
        stop()
        return 'FAILED'
      }
      // batched later, as the pipeline takes them: counted meanwhile
      pending += lines.length
      taken.then(() => { pending -= lines.length }, err => { failure ??= err; stop() })
      return 'OK'
    }

    // avsc loads here, not when the operators are listed
    const { FlumeServer } = await import('../lib/systems/flume/server.js')
    try {
      server = await FlumeServer.listen({ host: address.host, port: address.port, take, say })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : 'failed'
      throw new RuntimeError(`dstream flume: cannot listen on ${formatAddress(address)}: ${why} (${code ?? (err as Error).message})`)
    }
    let intake: ReplayableIntake
    let wal: Wal
    try {
      // the ids first: the replay of what was logged makes them known again
      component.prepare()
      if (idHeader) seen = RecentIds.open(component.file('ids.log'), opts.remember, flume.name)
      wal = new Wal(component)
      intake = await ReplayableIntake.open(component, wal, { ...b, parse: toRecord }, null)
    } catch (err) {
      await server.close()
      throw err
    }
    ready()
    say(`listening on ${formatAddress({ host: address.host, port: server.port })}`)

    const done = stopped.then(async () => {
      await server.close()
      await intake.close()
      wal.close()
      if (failure) throw failure
    })
    return { done, stop }
  }
}

export default flume
