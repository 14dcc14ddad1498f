import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { describeWithPostgres, postgresUrl } from '../../../test/support/services.js'
import { isBulwarkError } from '../../core/errors.js'
import { type PostgresEventStore, postgresEventStore } from './postgres.js'

/** Group commit on PostgreSQL: what a round does when one of its appends, or its connection, fails. */
describeWithPostgres('postgres event store rounds', () => {
  let admin: pg.Pool
  const schemas: string[] = []
  const stores: PostgresEventStore[] = []
  const openStore = (schema: string) => {
    const store = postgresEventStore({ connectionString: postgresUrl(), schema })
    stores.push(store)
    return store
  }
  const freshSchema = () => {
    const schema = `es_round_${randomUUID().replace(/-/g, '').slice(0, 20)}`
    schemas.push(schema)
    return schema
  }
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: postgresUrl(), max: 3 })
  })
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  })
  afterAll(async () => {
    await admin.end()
  })

  /** The backend running a round of `schema` that waits on a lock, once there is one. */
  const blockedRound = async (schema: string): Promise<number> => {
    for (;;) {
      const { rows } = await admin.query(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
        [`%"${schema}".append_round(%`],
      )
      if (rows[0]) return rows[0].pid
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  const waitForBlockedRounds = async (schema: string, n: number) => {
    for (;;) {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
        [`%"${schema}".append_round(%`],
      )
      if (rows[0].n >= n) return
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  it('a round whose connection dies half-way writes nothing; its callers get typed errors; the next round proceeds', async () => {
    const schema = freshSchema()
    const store = openStore(schema)
    await store.appendToStream('b', [{ type: 'B0', data: 0 }])
    // Another session holds stream b's row, so the round stops at its second append, after writing the first.
    const holder = await admin.connect()
    try {
      await holder.query('BEGIN')
      await holder.query(`SELECT 1 FROM "${schema}".streams WHERE stream_id = 'b' FOR UPDATE`)
      const outcomes = [
        store.appendToStream('a', [{ type: 'A1', data: 1 }], { expectedVersion: 'no_stream' }),
        store.appendToStream('b', [{ type: 'B1', data: 1 }], { expectedVersion: 1 }),
        store.appendToStream('c', [{ type: 'C1', data: 1 }]),
      ].map((p) =>
        p.then(
          () => 'committed',
          (e: unknown) => e,
        ),
      )
      const pid = await blockedRound(schema)
      // The round has written append a (its subtransaction holds an xid of its own besides the round's).
      const { rows: xids } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND locktype = 'transactionid' AND granted",
        [pid],
      )
      expect(xids[0].n).toBeGreaterThanOrEqual(2)
      await admin.query('SELECT pg_terminate_backend($1)', [pid])
      for (const outcome of await Promise.all(outcomes))
        expect(isBulwarkError(outcome, 'E_STORE_UNAVAILABLE')).toBe(true)
      await holder.query('ROLLBACK')
    } finally {
      holder.release()
    }
    expect(await store.headPosition()).toBe(1)
    expect((await store.readAll()).map((e) => e.type)).toEqual(['B0'])
    expect(await store.streamVersion('a')).toBe(0)

    const next = await Promise.all([
      store.appendToStream('a', [{ type: 'A1', data: 1 }], { expectedVersion: 'no_stream' }),
      store.appendToStream('b', [{ type: 'B1', data: 1 }], { expectedVersion: 1 }),
    ])
    expect(next.map((r) => r.lastPosition)).toEqual([2, 3])
    expect((await store.readAll()).map((e) => [e.type, e.globalPosition])).toEqual([
      ['B0', 1],
      ['A1', 2],
      ['B1', 3],
    ])
  })

  it('JSON that jsonb cannot hold fails its own append with a typed error, not the round', async () => {
    const store = openStore(freshSchema())
    const [bad, good] = await Promise.allSettled([
      store.appendToStream('bad', [{ type: 'A', data: { text: 'nul \u0000 inside' } }]),
      store.appendToStream('good', [{ type: 'B', data: 1 }]),
    ])
    expect(bad?.status === 'rejected' && isBulwarkError(bad.reason, 'E_INVALID_EVENT')).toBe(true)
    expect(good).toEqual({ status: 'fulfilled', value: { nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 } })
    expect((await store.readAll()).map((e) => e.type)).toEqual(['B'])
  })

  it('rounds of two processes claiming the same streams in opposite orders do not deadlock', async () => {
    const schema = freshSchema()
    const [one, two] = [openStore(schema), openStore(schema)] as const
    await one.migrate()
    // Both rounds are made to wait for the counter together, then race for the same two streams.
    const holder = await admin.connect()
    let appends: Promise<unknown>[]
    try {
      await holder.query('BEGIN')
      await holder.query(`SELECT 1 FROM "${schema}".positions FOR UPDATE`)
      const event = (type: string) => [{ type, data: null }]
      appends = [
        one.appendToStream('s1', event('one')),
        one.appendToStream('s2', event('one')),
        two.appendToStream('s2', event('two')),
        two.appendToStream('s1', event('two')),
      ]
      await waitForBlockedRounds(schema, 2)
      await holder.query('COMMIT')
    } finally {
      holder.release()
    }
    await Promise.all(appends)
    expect((await one.readAll()).map((e) => e.globalPosition)).toEqual([1, 2, 3, 4])
    expect(await one.streamVersion('s1')).toBe(2)
  })
})
