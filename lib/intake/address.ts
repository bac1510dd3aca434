// HOST:PORT on the command line (socket, listen): `localhost:9999`, `[::1]:9999`,
// or a bare PORT where a default host applies.

export interface Address {
  host: string
  port: number
}

/**
 * Parses `HOST:PORT`, or `PORT` alone when `defaultHost` is given; `allowZero`
 * lets the system choose the port. Returns a reason string when it does not parse.
 */
export function parseAddress (text: string | undefined, { defaultHost, allowZero = false }: { defaultHost?: string, allowZero?: boolean } = {}): Address | string {
  const shape = defaultHost === undefined ? 'HOST:PORT' : '[HOST:]PORT'
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d+)$/.exec(String(text ?? '').trim())
  if (!match) return `expected ${shape} (e.g. localhost:9999), got '${text ?? ''}'`
  const host = match[1] ?? match[2] ?? defaultHost
  if (host === undefined) return `expected ${shape} (e.g. localhost:9999), got '${text}': the host is missing`
  const port = Number(match[3])
  if (port > 65535 || (port === 0 && !allowZero)) return `bad port ${match[3]} in '${text}': expected ${allowZero ? '0' : '1'} to 65535`
  return { host, port }
}

export function formatAddress ({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
