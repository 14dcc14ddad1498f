import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { breaker, newKey, placeOrder, product, settled, testConfig } from './scenarios.js'
import { eventually, type Stack, sagaIdOf, sleep, startStack } from './stack.js'

type Saga = {
  sagaId: string
  orderId: string
  status: string
  steps: { name: string; status: string }[]
  timeline?: { type: string; step?: string }[]
}
type Feed = { sagas: { live: Record<string, number>; parked: { sagaId: string; reason: string }[] } | null }
type Note = { key: string; status: string; attempts: number; text: string }
type BreakerView = { name: string; state: string; totals: { failures: number; rejections: number } }

/** The next snapshot of the launcher's /events (what the dashboard draws) that `ok` accepts. */
async function snapshot(stack: Stack, ok: (s: Feed) => boolean, timeoutMs = 15_000): Promise<Feed> {
  const ctl = new AbortController()
  const timer = setTimeout(() => ctl.abort(), timeoutMs)
  try {
    const res = await fetch(`http://127.0.0.1:${stack.portBase}/events`, { signal: ctl.signal })
    let buf = ''
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buf += chunk
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const event = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (!event.startsWith('data: ')) continue
        const s = JSON.parse(event.slice(6)) as Feed
        if (ok(s)) return s
      }
    }
  } finally {
    clearTimeout(timer)
    ctl.abort()
  }
  throw new Error('/events ended')
}

// What the dashboard's buttons call (/api/coordinator/... on the launcher), and the notification outbox,
// end to end on a real stack.
describe('parked sagas from the dashboard API, and the notification queue', () => {
  let stack: Stack
  beforeAll(async () => {
    stack = await startStack({
      config: { ...testConfig, breakerTable: { ...testConfig.breakerTable, notification: { openDuration: '2s' } } },
      env: { REDIS_URL: '', DATABASE_URL: '', MONGODB_URI: '' },
    })
  })
  afterAll(async () => {
    await stack?.stop()
  })
  const saga = async (id: string) => (await stack.launcher<Saga>('GET', `/api/coordinator/sagas/${id}`)).body

  it('parks sagas whose compensation keeps failing; Resolve and Resume from the dashboard API end them', async () => {
    const skus = ['sku-00300', 'sku-00301']
    const before = await Promise.all(skus.map((s) => product(stack, s)))
    // Payments are declined after 1.5 s: by then each saga has reserved its stock, which inventory will then
    // refuse to release (compensation retried 3 times, then the saga is parked).
    await stack.launcher('POST', '/faults', { gateway: { latencyMs: 1500, declineRate: 100 } })
    const keys = skus.map(() => newKey('park'))
    const ids = keys.map(sagaIdOf)
    const replies = keys.map((key, i) =>
      placeOrder(stack, key, { customerId: 'cust-0020', items: [{ sku: skus[i]!, quantity: 2 }] }),
    )
    // The reservations are made (the saga records them when the payment step ends too).
    for (const [i, sku] of skus.entries())
      await eventually(
        () => product(stack, sku),
        (p) => p.stock.reserved === before[i]!.stock.reserved + 2,
      )
    expect((await stack.launcher('POST', '/faults', { services: { inventory: { errorRate: 100 } } })).status).toBe(200)
    await Promise.all(replies)
    for (const id of ids)
      await eventually(
        () => saga(id),
        (s) => s.status === 'parked',
      )

    // The dashboard lists them (the page's Resume and Resolve buttons sit on this list), so does the API.
    const feed = await snapshot(stack, (s) => ids.every((id) => s.sagas?.parked.some((p) => p.sagaId === id)))
    expect(feed.sagas!.live.parked).toBeGreaterThanOrEqual(2)
    const parked = (await stack.launcher<Saga[]>('GET', '/api/coordinator/sagas?status=parked')).body
    expect(parked.map((s) => s.sagaId)).toEqual(expect.arrayContaining(ids))

    // Resolve needs a note; only a parked saga can be resolved.
    const [a, b] = ids as [string, string]
    expect((await stack.launcher('POST', `/api/coordinator/sagas/${a}/resolve`, { note: '' })).status).toBe(400)
    // Resolve: the stock was released by hand, say the operator; the saga goes on compensating (cancels the
    // order) and ends aborted without releasing the stock itself.
    const resolved = await stack.launcher<Saga>('POST', `/api/coordinator/sagas/${a}/resolve`, {
      note: 'stock released by hand, ticket 17',
    })
    expect(resolved.status).toBe(200)
    const endA = await eventually(
      () => saga(a),
      (s) => s.status === 'aborted',
    )
    expect(endA.steps.find((s) => s.name === 'reserve-stock')?.status).toBe('resolved')
    expect(endA.timeline!.map((e) => e.type)).toContain('SagaResolved')
    expect((await stack.call<{ status: string }>('order', 'GET', `/orders/${endA.orderId}`)).body.status).toBe(
      'cancelled',
    )
    expect((await stack.launcher('POST', `/api/coordinator/sagas/${a}/resolve`, { note: 'again' })).status).toBe(409)

    // Resume, once inventory answers again (and its breaker, open 2 s, lets a call through): the release
    // succeeds this time, the order is cancelled, the stock is back.
    await stack.launcher('DELETE', '/faults')
    // A's reservation stays: resolving recorded the operator's word, it released nothing.
    expect((await product(stack, skus[0]!)).stock.reserved).toBe(before[0]!.stock.reserved + 2)
    await sleep(2500)
    const resumed = await stack.launcher<Saga>('POST', `/api/coordinator/sagas/${b}/resume`)
    expect(resumed.status).toBe(200)
    const endB = await eventually(
      () => saga(b),
      (s) => s.status === 'aborted' || s.status === 'parked',
    )
    expect(endB.status).toBe('aborted')
    expect(endB.timeline!.map((e) => e.type)).toContain('SagaResumed')
    expect(endB.steps.find((s) => s.name === 'reserve-stock')?.status).toBe('compensated')
    expect((await product(stack, skus[1]!)).stock).toEqual(before[1]!.stock)
    await snapshot(stack, (s) => s.sagas !== null && ids.every((id) => !s.sagas!.parked.some((p) => p.sagaId === id)))
  })

  it('queues notifications the channel refuses, refuses fast once its breaker opens, and delivers the queue later', async () => {
    const channelBreaker = async () =>
      (await stack.call<BreakerView[]>('notification', 'GET', '/breakers')).body.find(
        (x) => x.name === 'notification-channel',
      )!
    await stack.launcher('DELETE', '/faults')
    if ((await breaker(stack, 'inventory')).state !== 'closed') await sleep(2500) // what the test before may leave
    const notes = async (orderId: string) =>
      (await stack.call<Note[]>('notification', 'GET', `/notifications?orderId=${orderId}`)).body
    const orderIds: string[] = []
    /** One order: the saga does not wait for the customer's mail, it completes and the notification is queued. */
    const completedOrder = async (sku: string) => {
      const s = await settled(
        stack,
        await placeOrder(stack, newKey('queued'), { customerId: 'cust-0021', items: [{ sku, quantity: 1 }] }),
      )
      expect(s.status).toBe('completed')
      orderIds.push(s.orderId)
      return (await notes(s.orderId))[0]
    }
    expect((await stack.call('notification', 'PUT', '/channel', { errorRate: 1 })).status).toBe(200)
    try {
      expect(await completedOrder('sku-00310')).toMatchObject({ status: 'queued', attempts: 1 })

      // 10 failures in 60 s open the channel's breaker (the worker's retries of the queue count too).
      for (let i = 0; (await channelBreaker()).state !== 'open' && i < 12; i++)
        await stack.call('notification', 'POST', '/notifications', {
          key: newKey('fill'),
          orderId: 'ord-fill',
          template: 'order-confirmation-sms',
          to: '+15550000000',
          vars: {},
        })
      const open = await channelBreaker()
      expect(open.state).toBe('open')
      expect((await completedOrder('sku-00311'))?.status).toBe('queued')
      expect((await channelBreaker()).totals.rejections).toBeGreaterThan(open.totals.rejections)
    } finally {
      await stack.call('notification', 'PUT', '/channel', { errorRate: 0 })
    }
    // The worker (every 2 s) probes once the breaker's 2 s are over, and delivers the whole queue.
    for (const orderId of orderIds) {
      const [n] = await eventually(
        () => notes(orderId),
        (list) => list[0]?.status === 'sent',
        20_000,
      )
      expect(n!.attempts).toBeGreaterThanOrEqual(2)
      expect(n!.text).toContain(orderId)
    }
    const fill = (await stack.call<Note[]>('notification', 'GET', '/notifications?orderId=ord-fill')).body
    expect(fill.length).toBeGreaterThan(0)
    await eventually(
      async () => (await stack.call<Note[]>('notification', 'GET', '/notifications?orderId=ord-fill')).body,
      (list) => list.every((n) => n.status === 'sent'),
      20_000,
    )
    expect((await channelBreaker()).state).toBe('closed')
  })
})
