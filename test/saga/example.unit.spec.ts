/** The guide's example (docs/saga.md), compiled and run. */
import { expect, it } from 'vitest'
import { circuitBreaker } from '../../src/breaker/index.js'
import { memoryEventStore } from '../../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga } from '../../src/saga/index.js'

// Stand-ins for the services: each applies an effect once per idempotency key.
const stock = new Map<string, number>([['A1', 10]])
const charges = new Map<string, number>()
const inventory = {
  reserve: (key: string, sku: string, qty: number) => {
    stock.set(sku, (stock.get(sku) ?? 0) - qty)
    return { key, sku, qty }
  },
  release: (reservation: { sku: string; qty: number } | undefined) => {
    if (reservation) stock.set(reservation.sku, (stock.get(reservation.sku) ?? 0) + reservation.qty)
  },
}
const payments = {
  charge: async (key: string, amount: number, _options: { signal: AbortSignal }) => {
    if (amount > 1_000) throw new Error('card declined')
    charges.set(key, amount)
    return { paymentId: `pay-${key}` }
  },
  refund: async (key: string) => void charges.delete(key),
}
const shipping = { ship: (key: string, orderId: string) => ({ tracking: `T-${orderId}`, key }) }
const mailer = { confirm: async (_orderId: string, _tracking: string) => undefined }

it('places an order, and compensates one that fails before the pivot', async () => {
  // #region example
  type Order = { orderId: string; sku: string; qty: number; amount: number }
  const paymentsBreaker = circuitBreaker({ name: 'payments' })

  const placeOrder = defineSaga<Order>('place-order', { deadline: '30s' })
    .parallel([
      {
        name: 'reserve',
        run: ({ input, idempotencyKey }) => inventory.reserve(idempotencyKey, input.sku, input.qty),
        compensate: ({ output }) => inventory.release(output),
      },
      {
        name: 'charge',
        policy: paymentsBreaker,
        timeout: '2s',
        run: ({ input, idempotencyKey, signal }) => payments.charge(idempotencyKey, input.amount, { signal }),
        compensate: ({ idempotencyKey }) => payments.refund(idempotencyKey),
      },
    ])
    .step('ship', { kind: 'pivot', run: ({ input, idempotencyKey }) => shipping.ship(idempotencyKey, input.orderId) })
    .step('confirm', {
      kind: 'retriable',
      run: ({ input, outputs }) => mailer.confirm(input.orderId, outputs.ship.tracking),
    })

  const orchestrator = createSagaOrchestrator({ store: memoryEventStore(), sagas: [placeOrder] })
  await orchestrator.recover() // at startup: drive on every saga a crash interrupted

  const order = { orderId: 'o-1', sku: 'A1', qty: 2, amount: 40 }
  const state = await orchestrator.start(placeOrder, order, { sagaId: order.orderId })
  state.status // 'completed'
  state.outputs.ship?.tracking // 'T-o-1'
  // #endregion example

  expect(state.status).toBe('completed')
  expect(state.outputs.ship?.tracking).toBe('T-o-1')
  expect(stock.get('A1')).toBe(8)
  const declined = await orchestrator.start(placeOrder, { ...order, orderId: 'o-2', amount: 5_000 }, { sagaId: 'o-2' })
  expect(declined.status).toBe('aborted')
  expect(stock.get('A1')).toBe(8)
  expect([...charges.keys()]).toEqual(['o-1:charge'])
})
