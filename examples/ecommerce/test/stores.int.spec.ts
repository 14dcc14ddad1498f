import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresDocTable } from '../lib/doc-table.js'
import { openStores } from '../lib/stores.js'

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const prefix = `stores${process.pid}${Date.now().toString(36)}`
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
const created: string[] = []

// Replicas of a service start together against one PostgreSQL schema (inventory x2 in Redis + PostgreSQL
// mode): every one of them must come up, whichever creates the schema and the tables first.
describe('a service’s PostgreSQL stores, opened by replicas at once', () => {
  afterAll(async () => {
    for (const s of created) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await admin.end()
  })

  it('creates the read table once, whichever replica gets there first', async () => {
    for (let round = 0; round < 20; round++) {
      const schema = `${prefix}_docs${round}`
      created.push(schema)
      const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: DATABASE_URL, max: 2 }))
      try {
        const tables = await Promise.all(pools.map((pool) => postgresDocTable(pool, schema)))
        await tables[0]!.put('products', 'sku-1', { price: 1 })
        expect(await tables[3]!.get('products', 'sku-1')).toEqual({ price: 1 })
      } finally {
        await Promise.all(pools.map((p) => p.end()))
      }
    }
  })

  it('opens the event store and the read table of one schema from replicas at once', async () => {
    for (let round = 0; round < 10; round++) {
      const service = `svc${round}`
      created.push(`${prefix}_${service}`)
      const metrics = { dbQueries: { inc: () => {} } } as unknown as Parameters<typeof openStores>[1]
      const runtime = { databaseUrl: DATABASE_URL, prefix, service } as Parameters<typeof openStores>[0]
      const stores = await Promise.all(Array.from({ length: 3 }, () => openStores(runtime, metrics)))
      try {
        await stores[0]!.events.appendToStream('order-1', [{ type: 'OrderPlaced', data: { n: round } }])
        const read = await stores[2]!.events.readStream('order-1')
        expect(read.map((e) => e.type)).toEqual(['OrderPlaced'])
      } finally {
        await Promise.all(stores.map((s) => s.close()))
      }
    }
  })
})
