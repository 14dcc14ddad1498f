import { defineSaga } from 'bulwark/saga'
import type { ServiceClient } from '../../lib/http-client.js'

export interface PlaceOrderInput {
  orderId: string
  customerId: string
  email: string
  name: string
  items: { sku: string; quantity: number; price: number }[]
  total: number
  /** Hash of the request body, so a replayed Idempotency-Key with another body is recognized. */
  bodyHash: string
}

export interface Clients {
  order: ServiceClient
  inventory: ServiceClient
  payment: ServiceClient
  shipping: ServiceClient
  notification: ServiceClient
}

const enc = encodeURIComponent
const PAYMENT_STEPS = new Set(['authorize-payment', 'capture-payment'])

/**
 * The place-order saga: create order -> [reserve stock || authorize payment] -> capture payment ->
 * create shipment (pivot) -> notify customer (retriable) -> complete order (retriable). Compensations run
 * in reverse: refund/void, release stock, cancel order. Every call carries the step's idempotency key (or
 * the order id, which is one per saga), so a re-run after a crash has its effect once.
 */
export function placeOrderSaga(c: Clients, deadline: string) {
  return defineSaga<PlaceOrderInput>('place-order', { deadline: deadline as `${number}s` })
    .step('create-order', {
      run: async ({ input, sagaId }) => {
        const { orderId, customerId, items } = input
        await c.order.post('/orders', { orderId, customerId, items }, { idempotent: true, sagaId })
        return { orderId }
      },
      compensate: async ({ input, reason, sagaId }) => {
        const o = { idempotent: true, sagaId }
        if (reason.step !== undefined && PAYMENT_STEPS.has(reason.step))
          await c.order.post(`/orders/${input.orderId}/payment-failed`, { reason: reason.message.slice(0, 500) }, o)
        await c.order.post(`/orders/${input.orderId}/cancel`, { reason: reason.message.slice(0, 500) }, o)
      },
    })
    .parallel([
      {
        name: 'reserve-stock',
        run: async ({ input, idempotencyKey, sagaId }) => {
          const items = input.items.map(({ sku, quantity }) => ({ sku, quantity }))
          await c.inventory.post(
            '/reservations',
            { key: idempotencyKey, orderId: input.orderId, items },
            { idempotent: true, sagaId },
          )
          return { reservation: idempotencyKey }
        },
        compensate: async ({ idempotencyKey, sagaId }) => {
          await c.inventory.post(`/reservations/${enc(idempotencyKey)}/release`, undefined, {
            idempotent: true,
            sagaId,
          })
        },
      },
      {
        name: 'authorize-payment',
        run: async ({ input, idempotencyKey, sagaId }) => {
          const p = await c.payment.post<{ paymentId: string }>(
            '/payments/authorize',
            { key: idempotencyKey, orderId: input.orderId, amount: input.total },
            { idempotent: true, sagaId },
          )
          return { paymentId: p.paymentId }
        },
        compensate: async ({ input, sagaId }) => {
          await c.payment.post(`/payments/${input.orderId}/void`, undefined, { idempotent: true, sagaId })
        },
      },
    ])
    .step('capture-payment', {
      run: async ({ input, outputs, sagaId }) => {
        const o = { idempotent: true, sagaId }
        await c.payment.post(`/payments/${input.orderId}/capture`, undefined, o)
        await c.order.post(`/orders/${input.orderId}/reserved`, {}, o)
        const paymentId = (outputs['authorize-payment'] as { paymentId: string }).paymentId
        await c.order.post(`/orders/${input.orderId}/paid`, { paymentId, amount: input.total }, o)
        return { captured: input.total }
      },
      compensate: async ({ input, sagaId }) => {
        await c.payment.post(`/payments/${input.orderId}/refund`, undefined, { idempotent: true, sagaId })
      },
    })
    .step('create-shipment', {
      kind: 'pivot',
      run: async ({ input, idempotencyKey, sagaId }) => {
        const o = { idempotent: true, sagaId }
        const s = await c.shipping.post<{ trackingNumber: string }>(
          '/shipments',
          { key: idempotencyKey, orderId: input.orderId },
          o,
        )
        await c.order.post(`/orders/${input.orderId}/shipped`, { trackingNumber: s.trackingNumber }, o)
        return { trackingNumber: s.trackingNumber }
      },
    })
    .step('notify-customer', {
      kind: 'retriable',
      run: async ({ input, outputs, idempotencyKey, sagaId }) => {
        const tracking = (outputs['create-shipment'] as { trackingNumber: string }).trackingNumber
        const n = await c.notification.post<{ status: string }>(
          '/notifications',
          {
            key: idempotencyKey,
            orderId: input.orderId,
            template: 'order-confirmation-email',
            to: input.email,
            vars: { name: input.name, orderId: input.orderId, total: input.total.toFixed(2), trackingNumber: tracking },
          },
          { idempotent: true, sagaId },
        )
        return { notification: n.status }
      },
    })
    .step('complete-order', {
      kind: 'retriable',
      run: async ({ input, outputs, sagaId }) => {
        const o = { idempotent: true, sagaId }
        const key = (outputs['reserve-stock'] as { reservation: string }).reservation
        await c.inventory.post(`/reservations/${enc(key)}/sell`, undefined, o)
        await c.order.post(`/orders/${input.orderId}/completed`, {}, o)
        return { completed: true }
      },
    })
}
