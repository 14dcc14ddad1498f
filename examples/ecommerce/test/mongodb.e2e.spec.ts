import { afterAll, beforeAll, describe, it } from 'vitest'
import { orderCompletes, paymentDeclined, testConfig } from './scenarios.js'
import { type Stack, startStack } from './stack.js'

const MONGODB_URI = process.env.MONGODB_URI
if (!MONGODB_URI)
  console.warn(
    '\n*** SKIPPED: example shop MongoDB mode. Set MONGODB_URI to a replica set (mongodb://host:27017/?replicaSet=rs0) to run it. ***\n',
  )

// Event stores in MongoDB (a database per service); needs a replica set, which this machine does not have.
describe.skipIf(!MONGODB_URI)('example shop, MongoDB mode (SKIPPED without MONGODB_URI)', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({
      config: testConfig,
      env: { MONGODB_URI, STACK_PREFIX: `e2e${process.pid}`, REDIS_URL: '', DATABASE_URL: '' },
    })
  })
  afterAll(async () => {
    await stack?.stop()
  })
  it('completes an order', async () => {
    await orderCompletes(stack)
  })
  it('compensates a declined payment', async () => {
    await paymentDeclined(stack)
  })
})
