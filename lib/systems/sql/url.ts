// Which database to-sql writes into: a URL from the command line, from --url-file
// or from $DSTREAM_SQL_URL, so that a password need never stand on a command line.
//   sqlite:PATH                          the embedded default, a file (no server)
//   mysql://USER:PASS@HOST:PORT/DB       MariaDB or MySQL (also mariadb://)
//   postgres://USER:PASS@HOST:PORT/DB    PostgreSQL (also postgresql://)
import fs from 'node:fs'
import { maskUrl } from '../../core/secrets.js'

export type Dialect = 'sqlite' | 'mysql' | 'postgres'

export interface SqlUrl {
  dialect: Dialect
  /** the URL as given */
  url: string
  /** the URL with its password masked: what every message says */
  where: string
  /** the password, to mask wherever a driver's message repeats it */
  password?: string
  /** sqlite: the database file */
  file?: string
}

/** The URL the options and the environment give: the positional, else --url-file, else $DSTREAM_SQL_URL. */
export function urlFrom (given: string | undefined, urlFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (given !== undefined) return given
  if (urlFile !== undefined) return fs.readFileSync(urlFile, 'utf8').trim()
  return env.DSTREAM_SQL_URL || undefined
}

/** The URL understood, or the reason it is not. */
export function parseSqlUrl (url: string): SqlUrl | string {
  const where = maskUrl(url)
  if (/^sqlite:/i.test(url)) {
    const file = url.replace(/^sqlite:(\/\/)?/i, '')
    if (file === '') return `${where}: sqlite: needs a file, e.g. sqlite:stats.db`
    return { dialect: 'sqlite', url, where, file }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `${where} is not a database URL (sqlite:PATH, mysql://USER:PASS@HOST:PORT/DB or postgres://USER:PASS@HOST:PORT/DB)`
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase()
  const dialect: Dialect | undefined = scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : undefined
  if (!dialect) return `${where}: unknown database '${scheme}' (sqlite, mysql, mariadb, postgres)`
  if (parsed.pathname.length <= 1) return `${where}: the URL names no database (…/DB)`
  return { dialect, url, where, password: parsed.password ? decodeURIComponent(parsed.password) : undefined }
}
