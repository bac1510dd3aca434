// A progress bar on stderr for bounded work (tail --once, watch --once over a
// large input), drawn only when stderr is a terminal, at most ten times a second.
const WIDTH = 30

export function progressBar (write: (text: string) => void, label: string): (done: number, total: number) => void {
  let shown = -1
  let last = 0
  return (done, total) => {
    const now = Date.now()
    const finished = done >= total
    if (total <= 0 || (!finished && now - last < 100)) return
    const share = Math.min(1, done / total)
    const percent = Math.floor(share * 100)
    if (percent === shown && !finished) return
    shown = percent
    last = now
    const filled = Math.round(share * WIDTH)
    write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(percent).padStart(3)}%  ${megabytes(done)} of ${megabytes(total)}${finished ? '\n' : ''}`)
  }
}

function megabytes (bytes: number): string {
  return bytes < 1e3 ? `${bytes} B` : bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`
}
