// What the to-sql tests share: the databases to run against (SQLite in a temporary
// file always; MariaDB and PostgreSQL from test/services.ts, skipped or failed when
// absent), statements run with each database's own client, and unique table names.
import path from 'node:path'
import type { Test } from 'tap'
import { freshDir } from './helpers.js'
import { mariadb, postgres } from './services.js'

export interface Db { name: 'sqlite' | 'mariadb' | 'postgres', url: string }

/** SQLite, and each server that answers (the others are skipped, or failed with DSTREAM_REQUIRE_SERVICES=1). */
export async function databases (t: Test): Promise<Db[]> {
  const dbs: Db[] = [{ name: 'sqlite', url: `sqlite:${path.join(freshDir(), 'test.db')}` }]
  const m = await mariadb(t)
  if (m) dbs.push({ name: 'mariadb', url: m })
  const p = await postgres(t)
  if (p) dbs.push({ name: 'postgres', url: p })
  return dbs
}

/** A database of the server of its own (MariaDB, PostgreSQL), dropped at the end; SQLite: a new file. */
export async function freshDatabase (t: Test, db: Db): Promise<string> {
  if (db.name === 'sqlite') return `sqlite:${path.join(freshDir(), 'stats.db')}`
  const name = uniqueTable('dstream_jobs')
  await query(db.url, `CREATE DATABASE ${name}`)
  t.teardown(() => query(db.url, db.name === 'postgres' ? `DROP DATABASE ${name} WITH (FORCE)` : `DROP DATABASE ${name}`).catch(() => {}))
  return db.url.replace(/\/[^/]+$/, `/${name}`)
}

let made = 0
/** A table name no other test, file or run uses. */
export function uniqueTable (prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now() % 1e8}_${++made}`
}

/** Runs statements with the database's own client; gives the rows of the last one. */
export async function query (url: string, ...statements: string[]): Promise<Array<Record<string, unknown>>> {
  let rows: Array<Record<string, unknown>> = []
  if (url.startsWith('sqlite:')) {
    const { default: Sqlite } = await import('better-sqlite3')
    const db = new Sqlite(url.slice('sqlite:'.length), { timeout: 5000 })
    try {
      for (const sql of statements) {
        const statement = db.prepare(sql)
        rows = statement.reader ? statement.all() as Array<Record<string, unknown>> : (statement.run(), [])
      }
    } finally {
      db.close()
    }
  } else if (url.startsWith('mysql:')) {
    const { createConnection } = await import('mysql2/promise')
    // numbers as numbers: BIGINT, and the DECIMAL of SUM()
    const conn = await createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: false, decimalNumbers: true })
    try {
      for (const sql of statements) {
        const [result] = await conn.query(sql)
        rows = Array.isArray(result) ? result as Array<Record<string, unknown>> : []
      }
    } finally {
      await conn.end()
    }
  } else {
    const { default: pg } = await import('pg')
    // numbers as numbers: BIGINT (20) and the NUMERIC (1700) of SUM()
    const client = new pg.Client({ connectionString: url, types: { getTypeParser: (oid: number, format?: any) => oid === 20 || oid === 1700 ? Number : pg.types.getTypeParser(oid, format) } })
    await client.connect()
    try {
      for (const sql of statements) rows = (await client.query(sql)).rows
    } finally {
      await client.end()
    }
  }
  return rows
}

/** The table's rows as [col1, col2, ...] sorted, for comparisons. */
export async function tableRows (url: string, table: string, columns: string[]): Promise<unknown[][]> {
  const q = url.startsWith('mysql:') ? '`' : '"'
  const rows = await query(url, `SELECT ${columns.map(c => q + c + q).join(', ')} FROM ${q}${table}${q}`)
  return rows.map(r => columns.map(c => r[c])).sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)
}

/** Drops tables, quietly (teardown). */
export async function dropTables (url: string, tables: string[]): Promise<void> {
  const q = url.startsWith('mysql:') ? '`' : '"'
  try {
    await query(url, ...tables.map(table => `DROP TABLE IF EXISTS ${q}${table}${q}`))
  } catch {
    // best effort
  }
}
