// A TCP connection's lines into an Intake (socket, listen). When the peer closes,
// or the connection fails, its partial last line is still a line; end() stops
// reading (graceful stop) and keeps the partial line too.
import type { Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import type { Intake } from './lineIntake.js'
import { feedLines } from './lines.js'

export interface SocketLines {
  /** resolves once every line is in the intake: with the connection's error if it failed */
  done: Promise<NodeJS.ErrnoException | undefined>
  end(): void
}

export function feedSocket (socket: Socket, intake: Intake): SocketLines {
  // the PassThrough is what lets us end the lines ourselves: a failed or
  // destroyed socket never ends what it is piped into
  const pass = new PassThrough()
  let failure: NodeJS.ErrnoException | undefined
  const finish = () => {
    socket.unpipe(pass)
    if (!pass.writableEnded) pass.end()
  }
  socket.on('error', err => { failure = err; finish() })
  socket.on('close', finish)
  socket.pipe(pass)
  const done = feedLines(pass, intake).then(
    () => failure,
    err => { socket.destroy(); throw err })
  return { done, end () { finish(); socket.destroy() } }
}
