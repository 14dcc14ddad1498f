import type Database from 'better-sqlite3'
import type pg from 'pg'

/**
 * A service's read tables (catalog, customers, templates, outbox...): JSON documents by collection and id.
 * The events live in the event store; these are the tables a service queries by id or lists. One port, an
 * SQLite and a PostgreSQL backend, so a service's code is the same in every mode.
 */
export interface DocTable {
  get<T>(collection: string, id: string): Promise<T | undefined>
  put(collection: string, id: string, doc: unknown): Promise<void>
  /** Writes many documents in one transaction (seeding). */
  putMany(collection: string, docs: ReadonlyArray<readonly [string, unknown]>): Promise<void>
  /** Documents in id order. */
  list<T>(collection: string, page?: { limit?: number; offset?: number }): Promise<T[]>
  count(collection: string): Promise<number>
  close(): Promise<void>
}

export function sqliteDocTable(db: Database.Database): DocTable {
  db.exec(
    'CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID',
  )
  const get = db.prepare<[string, string], { body: string }>('SELECT body FROM docs WHERE collection = ? AND id = ?')
  const put = db.prepare(
    'INSERT INTO docs (collection, id, body) VALUES (?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body',
  )
  const list = db.prepare<[string, number, number], { body: string }>(
    'SELECT body FROM docs WHERE collection = ? ORDER BY id LIMIT ? OFFSET ?',
  )
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM docs WHERE collection = ?')
  const putMany = db.transaction((collection: string, docs: ReadonlyArray<readonly [string, unknown]>) => {
    for (const [id, doc] of docs) put.run(collection, id, JSON.stringify(doc))
  })
  return {
    get: async <T>(collection: string, id: string) => {
      const row = get.get(collection, id)
      return row === undefined ? undefined : (JSON.parse(row.body) as T)
    },
    put: async (collection, id, doc) => {
      put.run(collection, id, JSON.stringify(doc))
    },
    putMany: async (collection, docs) => putMany(collection, docs),
    list: async <T>(collection: string, page: { limit?: number; offset?: number } = {}) =>
      list.all(collection, page.limit ?? -1, page.offset ?? 0).map((r) => JSON.parse(r.body) as T),
    count: async (collection) => count.get(collection)?.n ?? 0,
    close: async () => {},
  }
}

export async function postgresDocTable(pool: pg.Pool, schema: string): Promise<DocTable> {
  const t = `"${schema}".docs`
  // Replicas of a service start together: IF NOT EXISTS alone races (two CREATEs of one name, one fails on
  // a catalog unique index), so they take turns on an advisory lock of the schema. One simple query is one
  // transaction: the lock is held until both statements are in.
  await pool.query(
    `SELECT pg_advisory_xact_lock(hashtext('shop.docs.${schema}'));
     CREATE SCHEMA IF NOT EXISTS "${schema}";
     CREATE TABLE IF NOT EXISTS ${t} (collection text NOT NULL, id text NOT NULL, body jsonb NOT NULL, PRIMARY KEY (collection, id))`,
  )
  const upsert = `INSERT INTO ${t} (collection, id, body) VALUES ($1, $2, $3) ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body`
  return {
    get: async <T>(collection: string, id: string) => {
      const r = await pool.query(`SELECT body FROM ${t} WHERE collection = $1 AND id = $2`, [collection, id])
      return r.rows[0]?.body as T | undefined
    },
    put: async (collection, id, doc) => {
      await pool.query(upsert, [collection, id, JSON.stringify(doc)])
    },
    putMany: async (collection, docs) => {
      // One statement per 1,000 rows: jsonb_to_recordset keeps the parameter count small.
      for (let i = 0; i < docs.length; i += 1000) {
        const chunk = docs.slice(i, i + 1000).map(([id, body]) => ({ id, body }))
        await pool.query(
          `INSERT INTO ${t} (collection, id, body) SELECT $1, x.id, x.body FROM jsonb_to_recordset($2::jsonb) AS x(id text, body jsonb)
           ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body`,
          [collection, JSON.stringify(chunk)],
        )
      }
    },
    list: async <T>(collection: string, page: { limit?: number; offset?: number } = {}) => {
      const r = await pool.query(`SELECT body FROM ${t} WHERE collection = $1 ORDER BY id LIMIT $2 OFFSET $3`, [
        collection,
        page.limit ?? null,
        page.offset ?? 0,
      ])
      return r.rows.map((row) => row.body as T)
    },
    count: async (collection) => {
      const r = await pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE collection = $1`, [collection])
      return r.rows[0].n as number
    },
    close: async () => {},
  }
}

/** Counts every query per collection and operation (the caching tests read it from /metrics). */
export function countedDocTable(inner: DocTable, count: (collection: string, op: string) => void): DocTable {
  return {
    get(c, id) {
      count(c, 'get')
      return inner.get(c, id)
    },
    put(c, id, doc) {
      count(c, 'put')
      return inner.put(c, id, doc)
    },
    putMany(c, docs) {
      count(c, 'putMany')
      return inner.putMany(c, docs)
    },
    list(c, page) {
      count(c, 'list')
      return inner.list(c, page)
    },
    count(c) {
      count(c, 'count')
      return inner.count(c)
    },
    close: () => inner.close(),
  }
}
