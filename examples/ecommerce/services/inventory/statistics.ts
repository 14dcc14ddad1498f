import type { EventStore } from 'bulwark/eventstore'
import type { DocTable } from '../../lib/doc-table.js'
import type { Product, Reservation, StockRow } from './catalog.js'

export interface Statistics {
  computedAt: string
  stockValueByCategory: Record<string, number>
  lowStock: { sku: string; available: number }[]
  topSellersLast7Days: { sku: string; sold: number }[]
  outstandingReservations: { count: number; units: number }
  turnoverByCategory: Record<string, number>
}

const LOW_STOCK = 25

/**
 * The design's five aggregations, over the whole catalog and the event log: the expensive computation the
 * statistics cache (5 min, refresh-ahead) exists for.
 */
export async function computeStatistics(docs: DocTable, events: EventStore, now = Date.now()): Promise<Statistics> {
  const products = await docs.list<Product>('products')
  const rows = new Map((await docs.list<StockRow>('stock')).map((r) => [r.sku, r]))
  const value: Record<string, number> = {}
  const soldBy: Record<string, number> = {}
  const heldBy: Record<string, number> = {}
  const lowStock: Statistics['lowStock'] = []
  for (const p of products) {
    const row = rows.get(p.id)
    const onHand = row?.onHand ?? p.initialStock
    const free = onHand - (row?.reserved ?? 0)
    value[p.category] = round((value[p.category] ?? 0) + onHand * p.price)
    soldBy[p.category] = (soldBy[p.category] ?? 0) + (row?.sold ?? 0)
    heldBy[p.category] = (heldBy[p.category] ?? 0) + onHand
    if (free < LOW_STOCK) lowStock.push({ sku: p.id, available: free })
  }
  const sold = new Map<string, number>()
  for await (const e of events.iterateAll({ types: ['StockSold'], recordedFrom: new Date(now - 7 * 86_400_000) })) {
    const d = e.data as { sku: string; quantity: number }
    sold.set(d.sku, (sold.get(d.sku) ?? 0) + d.quantity)
  }
  const reservations = (await docs.list<Reservation>('reservations')).filter((r) => r.status === 'reserved')
  const turnover: Record<string, number> = {}
  for (const c of Object.keys(heldBy)) turnover[c] = round((soldBy[c] ?? 0) / Math.max(1, heldBy[c] ?? 0), 4)
  return {
    computedAt: new Date(now).toISOString(),
    stockValueByCategory: value,
    lowStock: lowStock.sort((a, b) => a.available - b.available).slice(0, 50),
    topSellersLast7Days: [...sold]
      .map(([sku, n]) => ({ sku, sold: n }))
      .sort((a, b) => b.sold - a.sold)
      .slice(0, 10),
    outstandingReservations: {
      count: reservations.length,
      units: reservations.reduce((n, r) => n + r.items.reduce((m, i) => m + i.quantity, 0), 0),
    },
    turnoverByCategory: turnover,
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits
