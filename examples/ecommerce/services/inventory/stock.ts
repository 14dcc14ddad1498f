import { aggregateRepository, type EventStore, type RecordedOf } from 'bulwark/eventstore'
import { ProblemError } from '../../lib/errors.js'

/** The stock of one SKU, event-sourced: the design's five inventory events. */
export type StockEvent =
  | { type: 'StockAdded'; data: { sku: string; quantity: number; reason: string } }
  | { type: 'StockReserved'; data: { sku: string; quantity: number; key: string; orderId: string } }
  | { type: 'StockReleased'; data: { sku: string; quantity: number; key: string } }
  | { type: 'StockSold'; data: { sku: string; quantity: number; key: string } }
  | { type: 'StockAdjusted'; data: { sku: string; quantity: number; reason: string } }

export interface StockState {
  started: boolean
  onHand: number
  /** Reserved quantity by reservation key: a key reserves once, releases once, sells once. */
  reservations: Record<string, number>
  sold: number
}

/** A command on one SKU; `initialStock` (from the catalog) starts the stream on its first command. */
export type StockCommand = { sku: string; initialStock: number } & (
  | { type: 'reserve'; key: string; orderId: string; quantity: number }
  | { type: 'release'; key: string }
  | { type: 'sell'; key: string }
  | { type: 'adjust'; quantity: number; reason: string }
)

export const available = (s: StockState) => s.onHand - Object.values(s.reservations).reduce((a, b) => a + b, 0)

export function stockRepository(store: EventStore) {
  return aggregateRepository(store, {
    streamPrefix: 'stock-',
    aggregate: {
      initialState: (): StockState => ({ started: false, onHand: 0, reservations: {}, sold: 0 }),
      evolve: (s: StockState, e: RecordedOf<StockEvent>): StockState => {
        switch (e.type) {
          case 'StockAdded':
          case 'StockAdjusted':
            return { ...s, started: true, onHand: s.onHand + e.data.quantity }
          case 'StockReserved':
            return { ...s, reservations: { ...s.reservations, [e.data.key]: e.data.quantity } }
          case 'StockReleased': {
            const { [e.data.key]: _, ...rest } = s.reservations
            return { ...s, reservations: rest }
          }
          case 'StockSold': {
            const { [e.data.key]: _, ...rest } = s.reservations
            return { ...s, reservations: rest, onHand: s.onHand - e.data.quantity, sold: s.sold + e.data.quantity }
          }
        }
      },
      decide: (cmd: StockCommand, s: StockState) => decideStock(cmd, s),
    },
  })
}

/**
 * The events a command produces. The first command on a SKU starts its stream with the catalog's initial
 * stock (StockAdded "Initial stock"), so 10,000 seeded products cost no 10,000 appends at seeding time.
 * Reserve, release and sell are idempotent by key: a repeated key produces no event.
 */
export function decideStock(cmd: StockCommand, s: StockState): StockEvent[] {
  const { sku, initialStock } = cmd
  const out: StockEvent[] = []
  let state = s
  if (!s.started) {
    out.push({ type: 'StockAdded', data: { sku, quantity: initialStock, reason: 'Initial stock' } })
    state = { ...s, started: true, onHand: initialStock }
  }
  switch (cmd.type) {
    case 'reserve':
      if (cmd.key in state.reservations) return out
      if (available(state) < cmd.quantity)
        throw new ProblemError(409, 'insufficient-stock', `Only ${available(state)} of ${sku} available`, {
          extra: { sku, available: available(state) },
        })
      out.push({ type: 'StockReserved', data: { sku, quantity: cmd.quantity, key: cmd.key, orderId: cmd.orderId } })
      return out
    case 'release': {
      const q = state.reservations[cmd.key]
      if (q !== undefined) out.push({ type: 'StockReleased', data: { sku, quantity: q, key: cmd.key } })
      return out
    }
    case 'sell': {
      const q = state.reservations[cmd.key]
      if (q !== undefined) out.push({ type: 'StockSold', data: { sku, quantity: q, key: cmd.key } })
      return out
    }
    case 'adjust':
      out.push({ type: 'StockAdjusted', data: { sku, quantity: cmd.quantity, reason: cmd.reason } })
      return out
  }
}
