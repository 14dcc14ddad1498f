import type { CircuitBreaker } from 'bulwark/breaker'
import { aggregateRepository, type EventStore, type RecordedOf } from 'bulwark/eventstore'
import { ProblemError } from '../../lib/errors.js'
import { CardDeclined, type simulatedGateway } from './gateway.js'

export type PaymentEvent =
  | { type: 'PaymentAuthorized'; data: { orderId: string; paymentId: string; amount: number; key: string } }
  | { type: 'PaymentDeclined'; data: { orderId: string; reason: string; key: string } }
  | { type: 'PaymentCaptured'; data: { orderId: string; paymentId: string; amount: number } }
  | { type: 'PaymentVoided'; data: { orderId: string; paymentId: string } }
  | { type: 'PaymentRefunded'; data: { orderId: string; paymentId: string; amount: number } }

export interface PaymentState {
  orderId: string
  status: 'none' | 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded'
  paymentId?: string
  amount: number
  reason?: string
  captures: number
}

function evolve(s: PaymentState, e: RecordedOf<PaymentEvent>): PaymentState {
  switch (e.type) {
    case 'PaymentAuthorized':
      return { ...s, orderId: e.data.orderId, status: 'authorized', paymentId: e.data.paymentId, amount: e.data.amount }
    case 'PaymentDeclined':
      return { ...s, orderId: e.data.orderId, status: 'declined', reason: e.data.reason }
    case 'PaymentCaptured':
      return { ...s, status: 'captured', captures: s.captures + 1 }
    case 'PaymentVoided':
      return { ...s, orderId: e.data.orderId, status: 'voided' }
    case 'PaymentRefunded':
      return { ...s, status: 'refunded' }
  }
}

/**
 * Authorize, capture, void and refund, one stream per order, each idempotent: the state says whether the
 * effect happened, and a repeated request returns it without calling the gateway again. Every gateway call
 * goes through the "external APIs" breaker; while it is open the error handler answers 503 + Retry-After.
 */
export function payments(store: EventStore, gateway: ReturnType<typeof simulatedGateway>, breaker: CircuitBreaker) {
  const repo = aggregateRepository(store, {
    streamPrefix: 'payment-',
    aggregate: { initialState: (): PaymentState => ({ orderId: '', status: 'none', amount: 0, captures: 0 }), evolve },
  })
  const viaBreaker = <T>(fn: () => Promise<T>) => breaker.execute(fn)

  async function append(orderId: string, version: number, event: PaymentEvent) {
    await repo.save(orderId, [event], { expectedVersion: version })
    return (await repo.load(orderId)).state
  }

  return {
    get: async (orderId: string) => (await repo.load(orderId)).state,
    async authorize(key: string, orderId: string, amount: number): Promise<PaymentState> {
      const { state, version } = await repo.load(orderId)
      if (state.status === 'declined') throw new CardDeclined(state.reason ?? 'Card declined')
      if (state.status === 'voided' && state.paymentId === undefined)
        throw new ProblemError(409, 'payment-voided', `Payment of order ${orderId} was voided before it was authorized`)
      if (state.status !== 'none') return state
      const r = await viaBreaker(() => gateway.authorize(amount))
      if (r.declined !== undefined) {
        await append(orderId, version, { type: 'PaymentDeclined', data: { orderId, reason: r.declined, key } })
        throw new CardDeclined(r.declined)
      }
      return append(orderId, version, {
        type: 'PaymentAuthorized',
        data: { orderId, paymentId: r.paymentId!, amount, key },
      })
    },
    async capture(orderId: string): Promise<PaymentState> {
      const { state, version } = await repo.load(orderId)
      if (state.status === 'captured' || state.status === 'refunded') return state
      if (state.status !== 'authorized')
        throw new ProblemError(409, 'not-authorized', `Payment of order ${orderId} is ${state.status}`)
      await viaBreaker(() => gateway.capture(state.paymentId!))
      return append(orderId, version, {
        type: 'PaymentCaptured',
        data: { orderId, paymentId: state.paymentId!, amount: state.amount },
      })
    },
    /**
     * Undoes an authorization; nothing to undo is a success. With no authorization yet, it records the void
     * anyway: an authorize still in flight (the saga gave up on it) then fails on the stream's version, and a
     * later one is refused, so a compensation can never be overtaken by the action it undoes.
     */
    async void(orderId: string): Promise<PaymentState> {
      const { state, version } = await repo.load(orderId)
      if (state.status === 'none') {
        await repo.save(orderId, [{ type: 'PaymentVoided', data: { orderId, paymentId: '' } }], {
          expectedVersion: version,
        })
        return (await repo.load(orderId)).state
      }
      if (state.status !== 'authorized') return state
      await viaBreaker(() => gateway.void(state.paymentId!))
      return append(orderId, version, { type: 'PaymentVoided', data: { orderId, paymentId: state.paymentId! } })
    },
    /** Undoes a capture (or an authorization still open); idempotent like the others. */
    async refund(orderId: string): Promise<PaymentState> {
      const { state, version } = await repo.load(orderId)
      if (state.status === 'authorized') {
        await viaBreaker(() => gateway.void(state.paymentId!))
        return append(orderId, version, { type: 'PaymentVoided', data: { orderId, paymentId: state.paymentId! } })
      }
      if (state.status !== 'captured') return state
      await viaBreaker(() => gateway.refund(state.paymentId!))
      return append(orderId, version, {
        type: 'PaymentRefunded',
        data: { orderId, paymentId: state.paymentId!, amount: state.amount },
      })
    },
  }
}
