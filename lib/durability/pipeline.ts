// The restart protocol of SPEC §4, read from the state directory. Sinks commit
// batch times; stateful operators keep versions of their state; sources log the
// batches they emit. The pipeline's restart point is the latest batch T such that
// every sink has committed T and every stateful operator holds a version at T:
// on restart, the operators roll back to T and the sources replay what follows.
// A new sink or stateful operator takes part by having a Commit or a Checkpoint
// (the Stage does that); it never needs to know this file.
import fs from 'node:fs'
import path from 'node:path'
import { versionsIn } from './checkpoint.js'
import { committedIn } from './commit.js'
import { readMeta } from './component.js'

export interface Members {
  /** each sink (its directory's name and its operator) and its last committed batch (-Infinity: nothing yet) */
  sinks: Array<{ name: string, operator: string, committed: number }>
  /** each stateful operator's versions, oldest first */
  states: Array<{ name: string, versions: number[] }>
}

export function membersOf (stateDir: string): Members {
  const members: Members = { sinks: [], states: [] }
  let names: string[]
  try {
    names = fs.readdirSync(stateDir)
  } catch {
    return members
  }
  for (const name of names.sort()) {
    const dir = path.join(stateDir, name)
    const meta = readMeta(dir)
    if (meta === undefined || meta === 'corrupt') continue
    if (meta.role === 'sink') {
      const committed = committedIn(dir)
      members.sinks.push({ name, operator: meta.operator, committed: typeof committed === 'number' ? committed : -Infinity })
    } else if (meta.role === 'state') {
      members.states.push({ name, versions: versionsIn(dir) })
    }
  }
  return members
}

/**
 * The batch the pipeline restarts after: -Infinity when a sink has committed
 * nothing (replay everything logged), +Infinity when there is neither a sink
 * nor a stateful operator (nothing to replay: what was emitted was delivered).
 */
export function restartPoint ({ sinks, states }: Members): number {
  let point = sinks.length > 0 ? Math.min(...sinks.map(s => s.committed)) : Infinity
  // every stateful operator must hold a version at the point; step back until all do
  for (;;) {
    let next = point
    for (const { versions } of states) next = Math.min(next, latestAtOrBefore(versions, point))
    if (next === point) return point
    point = next
  }
}

function latestAtOrBefore (versions: number[], time: number): number {
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i] <= time) return versions[i]
  return -Infinity
}
