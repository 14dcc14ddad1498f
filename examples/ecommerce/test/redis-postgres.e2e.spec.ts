import pg from 'pg'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  crossReplicaInvalidation,
  idempotencyAndBadBodies,
  orderCompletes,
  paymentDeclined,
  productCaching,
  temporalQueries,
  testConfig,
} from './scenarios.js'
import { type Stack, startStack } from './stack.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
// Schemas and Redis keys of this run only: other tests share both servers.
const prefix = `e2e${process.pid}${Date.now().toString(36)}`

// The same stack with real infrastructure: every store in PostgreSQL (a schema per service), every
// "L1 + Redis" cache with a Redis L2 and bus, and inventory as two processes behind the launcher.
describe('example shop, Redis + PostgreSQL mode, inventory x2', () => {
  let stack: Stack
  let completed: string
  let declined: string
  beforeAll(async () => {
    stack = await startStack({
      config: testConfig,
      args: ['--replicas', 'inventory=2'],
      env: { REDIS_URL, DATABASE_URL, STACK_PREFIX: prefix, MONGODB_URI: '' },
    })
  })
  afterAll(async () => {
    await stack?.stop()
    const client = new pg.Client({ connectionString: DATABASE_URL })
    await client.connect()
    for (const s of ['coordinator', 'order', 'inventory', 'payment', 'shipping', 'notification'])
      await client.query(`DROP SCHEMA IF EXISTS "${prefix}_${s}" CASCADE`)
    await client.end()
  })

  it('completes an order', async () => {
    completed = (await orderCompletes(stack)).orderId
  })
  it('compensates a declined payment', async () => {
    declined = await paymentDeclined(stack)
  })
  it('replays an Idempotency-Key and refuses bad bodies', async () => {
    await idempotencyAndBadBodies(stack)
  })
  it('caches products and serves the new price after PUT', async () => {
    const [first] = (await stack.processes()).filter((p) => p.name === 'inventory')
    await productCaching(stack, 'sku-00077', first!.url)
  })
  it('invalidates the other inventory replica’s cached product when one replica changes it', async () => {
    await crossReplicaInvalidation(stack)
  })
  it('answers the failed-payment query and asOf', async () => {
    await temporalQueries(stack, completed, declined)
  })
})
