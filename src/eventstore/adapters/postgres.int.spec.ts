import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { describeWithPostgres, postgresUrl } from '../../../test/support/services.js'
import { isBulwarkError } from '../../core/errors.js'
import { eventStoreSuite } from '../../testing/eventstore-suite.js'
import { type PostgresEventStore, postgresEventStore } from './postgres.js'

describeWithPostgres('postgres event store', () => {
  let admin: pg.Pool
  const schemas: string[] = []
  const freshSchema = () => {
    const schema = `es_test_${randomUUID().replace(/-/g, '').slice(0, 20)}`
    schemas.push(schema)
    return schema
  }
  const dropSchemas = async () => {
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  }

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: postgresUrl(), max: 3 })
  })
  afterAll(async () => {
    await dropSchemas()
    await admin.end()
  })

  // Every conformance test gets its own schema, dropped after it.
  eventStoreSuite('postgres', async (options) => {
    const schema = freshSchema()
    const store = postgresEventStore({ ...options, connectionString: postgresUrl(), schema })
    return {
      store,
      cleanup: async () => {
        await store.close()
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      },
    }
  })

  const stores: PostgresEventStore[] = []
  const openStore = (schema: string, extra: { pool?: pg.Pool; notify?: boolean } = {}) => {
    const store = extra.pool
      ? postgresEventStore({ pool: extra.pool, schema, notify: extra.notify })
      : postgresEventStore({ connectionString: postgresUrl(), schema, notify: extra.notify })
    stores.push(store)
    return store
  }
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    await dropSchemas()
  })

  /** Resolves once an append to `schema` waits on a lock: it is queued behind another transaction. */
  const waitUntilAppendBlocked = async (schema: string) => {
    for (;;) {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
        [`%"${schema}".append_round(%`],
      )
      if (rows[0].n > 0) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  it('an append waits while another transaction holds positions, so positions follow commit order', async () => {
    const schema = freshSchema()
    const store = openStore(schema)
    await store.migrate()
    const other = await admin.connect()
    try {
      // A transaction that took position 1 and has not committed yet.
      await other.query('BEGIN')
      await other.query(`UPDATE "${schema}".positions SET last = last + 1`)
      const append = store.appendToStream('s', [{ type: 'Second', data: null }])
      await waitUntilAppendBlocked(schema)
      // Position 2 is neither taken nor visible while position 1 is in flight.
      expect(await store.readAll()).toEqual([])
      await other.query(
        `INSERT INTO "${schema}".events VALUES (1, 'o', 1, $1, 'First', 'null', '{"schemaVersion":1}', now())`,
        [randomUUID()],
      )
      await other.query('COMMIT')
      expect(await append).toEqual({ nextExpectedVersion: 1, firstPosition: 2, lastPosition: 2 })
      expect((await store.readAll()).map((e) => [e.type, e.globalPosition])).toEqual([
        ['First', 1],
        ['Second', 2],
      ])
    } finally {
      other.release()
    }
  })

  it('positions a rolled-back transaction had taken are given to the next append: no gap', async () => {
    const schema = freshSchema()
    const store = openStore(schema)
    await store.migrate()
    const other = await admin.connect()
    try {
      await other.query('BEGIN')
      await other.query(`UPDATE "${schema}".positions SET last = last + 5`)
      const append = store.appendToStream('s', [{ type: 'A', data: 1 }])
      await waitUntilAppendBlocked(schema)
      await other.query('ROLLBACK')
      expect(await append).toEqual({ nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 })
    } finally {
      other.release()
    }
  })

  it('wakes a watcher of another store (another process) through LISTEN/NOTIFY', async () => {
    const schema = freshSchema()
    const writer = openStore(schema)
    const reader = openStore(schema)
    await writer.migrate()
    let woke!: () => void
    const wakeups: number[] = []
    const first = new Promise<void>((resolve) => {
      woke = resolve
    })
    // The reader wakes once when its LISTEN is in place; then for the writer's commit.
    const listening = new Promise<void>((resolve) => {
      reader.watch(() => {
        wakeups.push(wakeups.length)
        if (wakeups.length === 1) resolve()
        else woke()
      })
    })
    await listening
    await writer.appendToStream('s', [{ type: 'A', data: 1 }])
    await first
    expect(wakeups.length).toBeGreaterThanOrEqual(2)
  })

  it('with notify: false, watchers hear only their own store', async () => {
    const schema = freshSchema()
    const store = openStore(schema, { notify: false })
    let calls = 0
    store.watch(() => calls++)
    await store.appendToStream('s', [{ type: 'A', data: 1 }])
    expect(calls).toBe(1)
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [
      `LISTEN "${schema}_events"`,
    ])
    expect(rows[0].n).toBe(0)
  })

  it('leaves a pool it was given open on close, and ends one it created', async () => {
    const schema = freshSchema()
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 2 })
    try {
      const store = postgresEventStore({ pool, schema })
      await store.appendToStream('s', [{ type: 'A', data: 1 }])
      await store.close()
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      const own = postgresEventStore({ connectionString: postgresUrl(), schema })
      expect(await own.streamVersion('s')).toBe(1)
      await own.close()
      await expect(own.streamVersion('s')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
    } finally {
      await pool.end()
    }
  })

  it('migrates idempotently, from several stores at once', async () => {
    const schema = freshSchema()
    const many = Array.from({ length: 4 }, () => openStore(schema))
    await Promise.all(many.map((s) => s.migrate()))
    await Promise.all(many.map((s) => s.migrate()))
    await many[0]?.appendToStream('s', [{ type: 'A', data: 1 }])
    expect(await many[3]?.headPosition()).toBe(1)
  })

  it('refuses JSON that jsonb cannot hold with a typed error, writing nothing', async () => {
    const store = openStore(freshSchema())
    const error = await store.appendToStream('s', [{ type: 'A', data: { text: 'nul \u0000 inside' } }]).catch((e) => e)
    expect(isBulwarkError(error, 'E_INVALID_EVENT')).toBe(true)
    expect(await store.headPosition()).toBe(0)
  })

  it('validates its options', () => {
    expect(() => postgresEventStore({ schema: 'x' })).toThrow(/connectionString/)
    expect(() => postgresEventStore({ connectionString: postgresUrl(), schema: 'Bad-Name' })).toThrow(/schema/)
    expect(() => postgresEventStore({ connectionString: postgresUrl(), poolSize: 0 })).toThrow(/poolSize/)
    expect(() => postgresEventStore({ connectionString: postgresUrl(), listenRetryDelay: 'soon' as never })).toThrow(
      /listenRetryDelay/,
    )
  })

  it('turns an unreachable server into E_STORE_UNAVAILABLE', async () => {
    const store = postgresEventStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none', schema: 'x' })
    stores.push(store)
    const error = await store.headPosition().catch((e) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
  })
})
