import { aggregateRepository, type EventStore, projection, type RecordedOf } from 'bulwark/eventstore'
import type { DocTable } from '../../lib/doc-table.js'
import { notFound, ProblemError } from '../../lib/errors.js'

type Line = { sku: string; quantity: number; price: number }

/** The order's lifecycle, event-sourced: the design's events plus completion and the payment failure. */
export type OrderEvent =
  | { type: 'OrderCreated'; data: { orderId: string; customerId: string; items: Line[]; total: number } }
  | { type: 'InventoryReserved'; data: { orderId: string } }
  | { type: 'PaymentProcessed'; data: { orderId: string; paymentId: string; amount: number } }
  | { type: 'PaymentFailed'; data: { orderId: string; reason: string } }
  | { type: 'OrderShipped'; data: { orderId: string; trackingNumber: string } }
  | { type: 'OrderCompleted'; data: { orderId: string } }
  | { type: 'OrderDelivered'; data: { orderId: string } }
  | { type: 'OrderCancelled'; data: { orderId: string; reason: string } }

export type OrderStatus = 'none' | 'created' | 'paid' | 'shipped' | 'completed' | 'delivered' | 'cancelled'

export interface OrderState {
  orderId: string
  status: OrderStatus
  customerId?: string
  items: Line[]
  total: number
  trackingNumber?: string
  paymentId?: string
  cancelReason?: string
  /** Event types recorded so far: a command whose event is there already records nothing (idempotent). */
  recorded: string[]
}

/** What the coordinator (and the carrier) ask of an order; each maps to one event, recorded once. */
export type OrderCommand =
  | { type: 'create'; customerId: string; items: Line[] }
  | { type: 'reserved' }
  | { type: 'paid'; paymentId: string; amount: number }
  | { type: 'payment-failed'; reason: string }
  | { type: 'shipped'; trackingNumber: string }
  | { type: 'completed' }
  | { type: 'delivered' }
  | { type: 'cancel'; reason: string }

const initial = (): OrderState => ({ orderId: '', status: 'none', items: [], total: 0, recorded: [] })

function evolve(s: OrderState, e: RecordedOf<OrderEvent>): OrderState {
  const next = { ...s, recorded: [...s.recorded, e.type] }
  switch (e.type) {
    case 'OrderCreated':
      return { ...next, ...e.data, status: 'created' }
    case 'InventoryReserved':
    case 'PaymentFailed':
      return next
    case 'PaymentProcessed':
      return { ...next, status: 'paid', paymentId: e.data.paymentId }
    case 'OrderShipped':
      return { ...next, status: 'shipped', trackingNumber: e.data.trackingNumber }
    case 'OrderCompleted':
      return { ...next, status: s.status === 'delivered' ? 'delivered' : 'completed' }
    case 'OrderDelivered':
      return { ...next, status: 'delivered' }
    case 'OrderCancelled':
      return { ...next, status: 'cancelled', cancelReason: e.data.reason }
  }
}

function decide(orderId: string, c: OrderCommand, s: OrderState): OrderEvent[] {
  const once = (e: OrderEvent): OrderEvent[] => (s.recorded.includes(e.type) ? [] : [e])
  if (c.type === 'create') {
    const total = Math.round(c.items.reduce((n, i) => n + i.price * i.quantity, 0) * 100) / 100
    return once({ type: 'OrderCreated', data: { orderId, customerId: c.customerId, items: c.items, total } })
  }
  if (s.status === 'none') throw notFound(`Order ${orderId}`)
  if (s.status === 'cancelled' && c.type !== 'cancel' && c.type !== 'payment-failed')
    throw new ProblemError(409, 'order-cancelled', `Order ${orderId} is cancelled`)
  switch (c.type) {
    case 'reserved':
      return once({ type: 'InventoryReserved', data: { orderId } })
    case 'paid':
      return once({ type: 'PaymentProcessed', data: { orderId, paymentId: c.paymentId, amount: c.amount } })
    case 'payment-failed':
      return once({ type: 'PaymentFailed', data: { orderId, reason: c.reason } })
    case 'shipped':
      return once({ type: 'OrderShipped', data: { orderId, trackingNumber: c.trackingNumber } })
    case 'completed':
      return once({ type: 'OrderCompleted', data: { orderId } })
    case 'delivered':
      return once({ type: 'OrderDelivered', data: { orderId } })
    case 'cancel':
      if (s.recorded.includes('OrderShipped'))
        throw new ProblemError(409, 'order-shipped', `Order ${orderId} has shipped and cannot be cancelled`)
      return once({ type: 'OrderCancelled', data: { orderId, reason: c.reason } })
  }
}

export interface IndexedEvent {
  orderId: string
  type: string
  at: string
  reason?: string
}

/** Orders: the aggregate (snapshots every N events), its audit trail, point-in-time state, and the failure index. */
export function orders(store: EventStore, docs: DocTable, snapshotEvery: number) {
  const repo = aggregateRepository(store, {
    streamPrefix: 'order-',
    snapshots: { every: snapshotEvery },
    aggregate: {
      initialState: initial,
      evolve,
      decide: (c: OrderCommand & { orderId: string }, s: OrderState) => decide(c.orderId, c, s),
    },
  })

  // "All orders that failed payment last month": a projection writes an index row per PaymentFailed
  // (and per cancellation), keyed by time, so the query reads the index instead of the whole log.
  const index = (e: { streamId: string; type: string; recordedAt: Date; data: unknown }) => {
    const d = e.data as { orderId: string; reason?: string }
    const at = e.recordedAt.toISOString()
    return docs.put(`index:${e.type}`, `${at}|${d.orderId}`, { orderId: d.orderId, type: e.type, at, reason: d.reason })
  }
  const failures = projection(store, {
    projectionId: 'order-event-index',
    handlers: { PaymentFailed: index, OrderCancelled: index },
    pollInterval: '500ms',
  })

  return {
    async handle(orderId: string, command: OrderCommand, requestId?: string) {
      const r = await repo.handle(orderId, { ...command, orderId }, { metadata: { correlationId: requestId } })
      return r.state
    },
    async get(orderId: string, asOf?: Date) {
      const { state, version } = asOf ? await repo.aggregateStateAt(orderId, asOf) : await repo.load(orderId)
      if (version === 0) throw notFound(asOf ? `Order ${orderId} as of ${asOf.toISOString()}` : `Order ${orderId}`)
      const { recorded: _, ...rest } = state
      return { ...rest, version }
    },
    async history(orderId: string) {
      const events = await store.readStream(`order-${orderId}`)
      if (events.length === 0) throw notFound(`Order ${orderId}`)
      return events.map((e) => ({
        version: e.streamVersion,
        type: e.type,
        at: e.recordedAt.toISOString(),
        data: e.data,
      }))
    },
    async byEvent(type: string, from: Date, to: Date): Promise<IndexedEvent[]> {
      const rows = await docs.list<IndexedEvent>(`index:${type}`)
      const f = from.toISOString()
      const t = to.toISOString()
      return rows.filter((r) => r.at >= f && r.at < t)
    },
    /** Waits until the index has seen everything committed so far (tests, and read-your-writes). */
    async indexCaughtUp() {
      await failures.waitFor(await store.headPosition())
    },
    close: () => failures.close(),
  }
}
