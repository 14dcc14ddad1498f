import { randomBytes } from 'node:crypto'
import type { EventStore } from 'bulwark/eventstore'
import type pino from 'pino'
import type { DocTable } from '../../lib/doc-table.js'
import { notFound } from '../../lib/errors.js'

export interface Shipment {
  orderId: string
  trackingNumber: string
  status: 'created' | 'delivered'
  createdAt: string
  deliveredAt?: string
}

/**
 * Shipments (the saga's pivot), one stream per order: ShipmentCreated once per order whatever the retries,
 * then a simulated carrier marks it delivered after a delay and tells the order service.
 */
export function shipments(
  store: EventStore,
  docs: DocTable,
  deliveryDelayMs: number,
  notifyDelivered: (orderId: string) => Promise<void>,
  log: pino.Logger,
) {
  const timers = new Set<NodeJS.Timeout>()

  function schedule(s: Shipment) {
    const wait = Math.max(0, Date.parse(s.createdAt) + deliveryDelayMs - Date.now())
    const timer = setTimeout(async () => {
      timers.delete(timer)
      try {
        await store.appendToStream(`shipment-${s.orderId}`, [
          { type: 'ShipmentDelivered', data: { orderId: s.orderId, trackingNumber: s.trackingNumber } },
        ])
        const delivered = { ...s, status: 'delivered' as const, deliveredAt: new Date().toISOString() }
        await docs.put('shipments', s.orderId, delivered)
        await notifyDelivered(s.orderId)
      } catch (error) {
        log.warn({ err: error, orderId: s.orderId }, 'delivery not recorded; retrying later')
        schedule({ ...s, createdAt: new Date().toISOString() })
      }
    }, wait)
    timer.unref()
    timers.add(timer)
  }

  return {
    async create(orderId: string): Promise<Shipment> {
      const existing = await docs.get<Shipment>('shipments', orderId)
      if (existing) return existing
      const s: Shipment = {
        orderId,
        trackingNumber: `TRK${randomBytes(5).toString('hex').toUpperCase()}`,
        status: 'created',
        createdAt: new Date().toISOString(),
      }
      // expectedVersion no_stream: two concurrent creates for one order cannot both ship it.
      try {
        await store.appendToStream(`shipment-${orderId}`, [{ type: 'ShipmentCreated', data: { ...s } }], {
          expectedVersion: 'no_stream',
        })
      } catch (error) {
        const [first] = await store.readStream(`shipment-${orderId}`, { maxCount: 1 })
        if (!first) throw error
        const created = first.data as unknown as Shipment
        await docs.put('shipments', orderId, created)
        return created
      }
      await docs.put('shipments', orderId, s)
      schedule(s)
      return s
    },
    async get(orderId: string) {
      const s = await docs.get<Shipment>('shipments', orderId)
      if (!s) throw notFound(`Shipment of order ${orderId}`)
      return s
    },
    /** At boot: shipments not delivered yet get their carrier again. */
    async resumeCarrier() {
      for (const s of await docs.list<Shipment>('shipments')) if (s.status === 'created') schedule(s)
    },
    stop() {
      for (const t of timers) clearTimeout(t)
      timers.clear()
    },
  }
}
