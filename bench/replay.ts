// What the restart guarantee costs a source: the same lines through `batch`, through
// `batch --wal` (written ahead, each batch logged and synced), and through
// `tail --once` (read from the file, reads and batches logged), each into `count`,
// in the same run, with their ratios to plain `batch`. Then the time a restart takes
// to replay uncommitted batches.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const LINES = Number(process.env.LINES ?? 2_000_000)
const DSTREAM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'dstream')

function timed (script: string, cwd: string): number {
  const start = performance.now()
  execFileSync('bash', ['-c', `set -o pipefail; ${script} > /dev/null`], { cwd, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, D: DSTREAM } })
  return (performance.now() - start) / 1000
}

function main (): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dstream-bench-replay-'))
  const line = '82.88.45.123 2020-05-23 19:06:00 "GET /class/112.html HTTP/1.1" 404 http://www.sogou.com/web?query=hadoop'
  fs.writeFileSync(path.join(dir, 'access.log'), (line + '\n').repeat(LINES))
  const mb = fs.statSync(path.join(dir, 'access.log')).size / 1e6
  console.log(`${LINES.toLocaleString('en')} access-log lines (${mb.toFixed(0)} MB), 1s batches, into count`)
  const runs: Array<[string, string]> = [
    ['batch (not replayable)', '$D batch 1s < access.log | $D count'],
    ['batch --wal', '$D batch 1s --wal --state-dir s1 < access.log | $D count'],
    ['tail --once --from start', '$D tail access.log --once --from start --state-dir s2 | $D count']
  ]
  let base = 0
  for (const [name, script] of runs) {
    const seconds = timed(script, dir)
    base ||= seconds
    console.log(`  ${name.padEnd(26)} ${seconds.toFixed(2)} s  ${(LINES / seconds / 1e6).toFixed(2)}M lines/s  ${(base / seconds * 100).toFixed(0)}% of batch`)
  }
  // a restart that replays everything: the sink has committed nothing
  fs.mkdirSync(path.join(dir, 's2', 'sink'))
  fs.writeFileSync(path.join(dir, 's2', 'sink', 'meta.json'), JSON.stringify({ operator: 'save', role: 'sink', definition: {} }))
  fs.writeFileSync(path.join(dir, 's2', 'sink', 'commit.json'), JSON.stringify({ committed: null }))
  const replay = timed('$D tail access.log --once --state-dir s2 | $D count', dir)
  console.log(`  restart replaying all of it from the log: ${replay.toFixed(2)} s (${(LINES / replay / 1e6).toFixed(2)}M lines/s)`)
  fs.rmSync(dir, { recursive: true, force: true })
}

main()
