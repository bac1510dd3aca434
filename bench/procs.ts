// Peak memory of running processes, read from /proc while they run.
import fs from 'node:fs'

/** Polls every dstream process's resident set; returns the peak per command line when stopped. */
export function watchMemory (match = 'dstream'): { stop(): Map<string, number> } {
  const peaks = new Map<string, number>()
  const timer = setInterval(() => {
    for (const pid of fs.readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
        const at = cmd.findIndex(w => w.includes('/bin/' + match))
        if (at < 0) continue
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
        const name = cmd.slice(at + 1, at + 2).join(' ') + ` (pid ${pid})`
        peaks.set(name, Math.max(peaks.get(name) ?? 0, kb / 1024))
      } catch { /* the process ended meanwhile */ }
    }
  }, 100)
  return { stop () { clearInterval(timer); return peaks } }
}
