import type { Duration } from 'bulwark'
import { type Cache, cached } from 'bulwark/cache'
import type { EventStore } from 'bulwark/eventstore'
import type { DocTable } from '../../lib/doc-table.js'
import { notFound, ProblemError } from '../../lib/errors.js'
import { pick, seededRandom } from '../../lib/seed-random.js'
import { available, type StockCommand, type StockState, stockRepository } from './stock.js'

export interface Product {
  id: string
  name: string
  price: number
  category: string
  initialStock: number
}

/** The stock figures kept beside the catalog (a read table the stock commands update). */
export interface StockRow {
  sku: string
  onHand: number
  reserved: number
  sold: number
}

export interface ProductView extends Omit<Product, 'initialStock'> {
  stock: { onHand: number; reserved: number; available: number; sold: number }
}

export interface Reservation {
  key: string
  orderId: string
  items: { sku: string; quantity: number }[]
  status: 'reserved' | 'released' | 'sold'
}

/**
 * The catalog and the stock. `find` is the design's cached product lookup: `@cached` (TTL 1 h, tag
 * `products`), evicted whenever the product or its stock changes (`evict`), which the Redis bus carries to
 * the other replicas.
 */
export function catalog(docs: DocTable, events: EventStore, cache: Cache, ttl: Duration) {
  const stock = stockRepository(events)

  class ProductRepository {
    @cached({ cache, key: (id: string) => `product:${id}`, ttl, tags: ['products'] })
    async find(id: string): Promise<ProductView | null> {
      const product = await docs.get<Product>('products', id)
      if (product === undefined) return null
      const row = await docs.get<StockRow>('stock', id)
      return view(product, row)
    }
  }
  const repo = new ProductRepository()

  const evict = (sku: string) => cache.delete(`product:${sku}`)

  async function command(cmd: DistributiveOmit<StockCommand, 'initialStock'>): Promise<StockState> {
    const product = await docs.get<Product>('products', cmd.sku)
    if (product === undefined)
      throw new ProblemError(422, 'unknown-sku', `Unknown SKU ${cmd.sku}`, { extra: { sku: cmd.sku } })
    const handled = await stock.handle(cmd.sku, { ...cmd, initialStock: product.initialStock } as StockCommand)
    if (handled.events.length > 0) {
      const s = handled.state
      const reserved = s.onHand - available(s)
      await docs.put('stock', cmd.sku, { sku: cmd.sku, onHand: s.onHand, reserved, sold: s.sold } satisfies StockRow)
      await evict(cmd.sku)
    }
    return handled.state
  }

  return {
    find: (id: string) => repo.find(id),
    async list(limit: number, offset: number) {
      return docs.list<Product>('products', { limit, offset })
    },
    async update(id: string, patch: Partial<Pick<Product, 'name' | 'price' | 'category'>>): Promise<ProductView> {
      const product = await docs.get<Product>('products', id)
      if (product === undefined) throw notFound(`Product ${id}`)
      const next = { ...product, ...patch }
      await docs.put('products', id, next)
      await evict(id)
      return view(next, await docs.get<StockRow>('stock', id))
    },
    async adjust(sku: string, quantity: number, reason: string) {
      await command({ type: 'adjust', sku, quantity, reason })
      return repo.find(sku)
    },
    /** All items or none: a shortage on one item releases what the others reserved. Idempotent by key. */
    async reserve(key: string, orderId: string, items: Reservation['items']): Promise<Reservation> {
      const existing = await docs.get<Reservation>('reservations', key)
      if (existing !== undefined) return existing
      const done: string[] = []
      try {
        for (const item of items) {
          await command({ type: 'reserve', sku: item.sku, key, orderId, quantity: item.quantity })
          done.push(item.sku)
        }
      } catch (error) {
        for (const sku of done) await command({ type: 'release', sku, key })
        throw error
      }
      // A release that arrived while this reservation was in flight left a tombstone: undo, and say so.
      const released = await docs.get<Reservation>('reservations', key)
      if (released !== undefined) {
        for (const item of items) await command({ type: 'release', sku: item.sku, key })
        return released
      }
      const reservation: Reservation = { key, orderId, items, status: 'reserved' }
      await docs.put('reservations', key, reservation)
      return reservation
    },
    async release(key: string): Promise<Reservation> {
      const r = await docs.get<Reservation>('reservations', key)
      if (r === undefined) {
        // Nothing reserved under this key (yet): a tombstone, so a reservation still in flight undoes itself.
        const tombstone: Reservation = { key, orderId: '', items: [], status: 'released' }
        await docs.put('reservations', key, tombstone)
        return tombstone
      }
      if (r.status !== 'reserved') return r
      for (const item of r.items) await command({ type: 'release', sku: item.sku, key })
      const next = { ...r, status: 'released' as const }
      await docs.put('reservations', key, next)
      return next
    },
    async sell(key: string): Promise<Reservation> {
      const r = await docs.get<Reservation>('reservations', key)
      if (r === undefined) throw notFound(`Reservation ${key}`)
      if (r.status !== 'reserved') return r
      for (const item of r.items) await command({ type: 'sell', sku: item.sku, key })
      const next = { ...r, status: 'sold' as const }
      await docs.put('reservations', key, next)
      return next
    },
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

function view(p: Product, row: StockRow | undefined): ProductView {
  const onHand = row?.onHand ?? p.initialStock
  const reserved = row?.reserved ?? 0
  const { initialStock: _, ...rest } = p
  return { ...rest, stock: { onHand, reserved, available: onHand - reserved, sold: row?.sold ?? 0 } }
}

const adjectives = ['Classic', 'Eco', 'Pro', 'Smart', 'Compact', 'Deluxe', 'Rugged', 'Silent', 'Swift', 'Urban']
const nouns = ['Lamp', 'Kettle', 'Backpack', 'Headphones', 'Chair', 'Mug', 'Jacket', 'Drill', 'Blender', 'Watch']
export const categories = [
  'home',
  'kitchen',
  'outdoor',
  'audio',
  'office',
  'apparel',
  'tools',
  'sports',
  'toys',
  'garden',
  'books',
  'beauty',
]

/** 10,000 products by default, the same on every fresh start. */
export async function seedCatalog(docs: DocTable, count: number): Promise<number> {
  if ((await docs.count('products')) > 0) return 0
  const random = seededRandom(42)
  const products: [string, Product][] = []
  for (let i = 1; i <= count; i++) {
    const id = `sku-${String(i).padStart(5, '0')}`
    products.push([
      id,
      {
        id,
        name: `${pick(random, adjectives)} ${pick(random, nouns)} ${i}`,
        price: Math.round((1 + random() * 499) * 100) / 100,
        category: pick(random, categories),
        initialStock: 20 + Math.floor(random() * 180),
      },
    ])
  }
  await docs.putMany('products', products)
  return count
}
