import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testConfig } from './scenarios.js'
import { eventually, type ProcessInfo, type Stack, sleep, startStack } from './stack.js'

type Current = {
  services: Record<string, { errorRate?: number; latency?: unknown; hang?: boolean }>
  gateway?: { declineRate?: number }
}

// A process the launcher restarts (kill through the fault API, or a crash) comes back with the faults that
// are in effect: from its first request, not only once the launcher has noticed it is up again.
describe('fault API: faults survive a restart of the service', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({
      config: testConfig,
      restart: true,
      env: { REDIS_URL: '', DATABASE_URL: '', MONGODB_URI: '' },
    })
  })
  afterAll(async () => {
    await stack?.stop()
  })

  const proc = async (name: string) => (await stack.processes()).find((p) => p.name === name)!
  const restarted = (name: string, before: ProcessInfo) =>
    eventually(
      () => proc(name),
      (p) => p.status === 'ready' && p.restarts > before.restarts && p.pid !== before.pid,
      30_000,
    )

  it('re-applies a killed service faults and the gateway settings after the launcher restarts it', async () => {
    const set = await stack.launcher<Current>('POST', '/faults', {
      services: { inventory: { errorRate: 100 } },
      gateway: { declineRate: 100 },
    })
    expect(set.status).toBe(200)
    expect((await stack.call('inventory', 'GET', '/products/sku-00001')).status).toBe(500)
    const inventory0 = await proc('inventory')
    const payment0 = await proc('payment')

    // Kill both through the fault API; from then on, ask inventory as fast as we can: the first answer of
    // the new process must already be the injected failure.
    const killed = await stack.launcher('POST', '/faults', {
      services: { inventory: { process: 'kill' }, payment: { process: 'kill' } },
    })
    expect(killed.status).toBe(200)
    let first: number | undefined
    for (const until = Date.now() + 30_000; first === undefined && Date.now() < until; ) {
      first = await fetch(`${stack.url('inventory')}/products/sku-00001`).then(
        (r) => r.status,
        () => undefined,
      )
      if (first === undefined) await sleep(2)
    }
    expect(first).toBe(500)
    await restarted('inventory', inventory0)
    await restarted('payment', payment0)

    const current = (await stack.launcher<Current>('GET', '/faults')).body
    expect(current.services.inventory).toEqual({ errorRate: 100 })
    expect(current.gateway).toEqual({ declineRate: 100 })
    expect((await stack.call<{ errorRate: number }>('inventory', 'GET', '/faults')).body.errorRate).toBe(1)
    expect((await stack.call('inventory', 'GET', '/products/sku-00001')).status).toBe(500)
    expect((await stack.call<{ declineRate: number }>('payment', 'GET', '/gateway')).body.declineRate).toBe(1)

    const cleared = await stack.launcher<Current>('DELETE', '/faults')
    expect(cleared.body).toEqual({ services: {} })
    expect((await stack.call('inventory', 'GET', '/products/sku-00001')).status).toBe(200)
    expect((await stack.call<{ declineRate: number }>('payment', 'GET', '/gateway')).body.declineRate).toBe(0)
  })

  it('does not bring back faults cleared while the service was restarting', async () => {
    await stack.launcher('POST', '/faults', { services: { order: { errorRate: 100 } } })
    const order0 = await proc('order')
    await stack.launcher('POST', '/faults', { services: { order: { process: 'kill' } } })
    // Cleared while order is down: DELETE starts it at once, the faults are gone.
    expect((await stack.launcher<Current>('DELETE', '/faults')).body).toEqual({ services: {} })
    await restarted('order', order0)
    expect((await stack.call<{ errorRate: number }>('order', 'GET', '/faults')).body.errorRate).toBe(0)
    expect((await stack.call('order', 'GET', '/customers/cust-0001')).status).toBe(200)
  })
})
