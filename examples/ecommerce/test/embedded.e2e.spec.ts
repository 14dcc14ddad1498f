import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  coordinatorCrash,
  idempotencyAndBadBodies,
  inventorySlow,
  orderCompletes,
  paymentDeclined,
  paymentDown,
  productCaching,
  statisticsAndTemplates,
  temporalQueries,
  testConfig,
} from './scenarios.js'
import { type Stack, startStack } from './stack.js'

// The stack in its default mode: six processes, one SQLite file each, L1-only caches.
describe('example shop, embedded mode', () => {
  let stack: Stack
  let completed: string
  let declined: string
  beforeAll(async () => {
    stack = await startStack({ config: testConfig, env: { REDIS_URL: '', DATABASE_URL: '', MONGODB_URI: '' } })
  })
  afterAll(async () => {
    await stack?.stop()
  })

  it('completes an order: stock sold, payment captured, shipment created, customer notified, history in order', async () => {
    completed = (await orderCompletes(stack)).orderId
  })
  it('compensates a declined payment in reverse order and cancels the order', async () => {
    declined = await paymentDeclined(stack)
  })
  it('answers a replayed Idempotency-Key with the same saga, and bad bodies with problem+json', async () => {
    await idempotencyAndBadBodies(stack)
  })
  it('serves products from the cache and the new price after PUT', async () => {
    await productCaching(stack)
  })
  it('serves statistics from the cache, refreshes them ahead, and refreshes templates', async () => {
    await statisticsAndTemplates(stack)
  })
  it('answers the failed-payment query over a time range and asOf from the events', async () => {
    await temporalQueries(stack, completed, declined)
  })
  it('opens the payment breaker on the 3rd failure, fails fast, then half-opens and closes', async () => {
    await paymentDown(stack)
  })
  it('finishes every saga after the coordinator is SIGKILLed with sagas in flight', async () => {
    await coordinatorCrash(stack)
  })
  it('counts a slowed inventory as slow calls and opens its breaker on the slow-call rate', async () => {
    await inventorySlow(stack)
  })
})
