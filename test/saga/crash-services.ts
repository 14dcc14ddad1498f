/**
 * Fake inventory, payment, shipping and confirmation services for the saga crash test. They live in their
 * own SQLite file and apply each effect once per idempotency key, in one transaction with the state it
 * changes. Every application is also written to `effect_log` by order id: an effect applied twice (for
 * instance under two different keys) shows up there.
 */
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'

export const SKUS = ['sku-a', 'sku-b', 'sku-c'] as const
export const INITIAL_STOCK = 1_000_000
export const INITIAL_BALANCE = 100_000_000
/** `compensationFailures` of a compensation that never works (JSON has no Infinity). */
export const NEVER = 1_000_000

/** What the test decides, per order, about failures. Derived from the order id only, so every process agrees. */
export interface OrderPlan {
  orderId: string
  sku: string
  qty: number
  amount: number
  /** The step that refuses (before any effect), or null. */
  failAt: 'reserve' | 'charge' | 'ship' | null
  /** Calls of `confirm` that fail before one succeeds. */
  confirmFailures: number
  /** Calls of each compensation that fail before one succeeds; {@link NEVER} for one that never works. */
  compensationFailures: number
}

export function planOrder(orderId: string): OrderPlan {
  let draw = 0
  // Uniform numbers in [0, 1) from the order id alone: the child processes and the checker agree on them.
  const random = () =>
    Number.parseInt(createHash('sha256').update(`${orderId}/${draw++}`).digest('hex').slice(0, 8), 16) / 2 ** 32
  const roll = random()
  const failAt = roll < 0.12 ? 'reserve' : roll < 0.24 ? 'charge' : roll < 0.36 ? 'ship' : null
  const comp = random()
  return {
    orderId,
    sku: SKUS[Math.floor(random() * SKUS.length)]!,
    qty: 1 + Math.floor(random() * 5),
    amount: 100 + Math.floor(random() * 900),
    failAt,
    confirmFailures: random() < 0.3 ? 1 + Math.floor(random() * 3) : 0,
    compensationFailures: comp < 0.05 ? NEVER : comp < 0.3 ? 2 : 0,
  }
}

export function orderIds(rounds: number, perRound: number): string[] {
  const ids: string[] = []
  for (let r = 0; r < rounds; r++) for (let i = 0; i < perRound; i++) ids.push(`order-${r}-${i}`)
  return ids
}

/** Opens (and creates) the services database. */
export function openServices(path: string): Database.Database {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS effects (key TEXT NOT NULL, op TEXT NOT NULL, order_id TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (key, op));
    CREATE TABLE IF NOT EXISTS effect_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, op TEXT NOT NULL, order_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS calls (key TEXT NOT NULL, op TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, op));
  `)
  const seed = db.prepare('INSERT OR IGNORE INTO stock (sku, available) VALUES (?, ?)')
  for (const sku of SKUS) seed.run(sku, INITIAL_STOCK)
  db.prepare('INSERT OR IGNORE INTO accounts (id, balance) VALUES (?, ?)').run('customer', INITIAL_BALANCE)
  db.prepare('INSERT OR IGNORE INTO accounts (id, balance) VALUES (?, ?)').run('merchant', 0)
  return db
}

export type ServicesDb = ReturnType<typeof openServices>

/** The services, with a crash point before and after each effect. */
export function services(db: ServicesDb, maybeCrash: (label: string) => void) {
  const has = db.prepare<[string, string], { amount: number }>('SELECT amount FROM effects WHERE key = ? AND op = ?')
  const record = db.prepare('INSERT INTO effects (key, op, order_id, amount) VALUES (?, ?, ?, ?)')
  const log = db.prepare('INSERT INTO effect_log (key, op, order_id) VALUES (?, ?, ?)')
  const stock = db.prepare('UPDATE stock SET available = available + ? WHERE sku = ?')
  const account = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?')
  const countCall = db.prepare<[string, string], { n: number }>(
    'INSERT INTO calls (key, op, n) VALUES (?, ?, 1) ON CONFLICT (key, op) DO UPDATE SET n = n + 1 RETURNING n',
  )

  /** Applies `change` once per (key, op); a repeat returns the first result without changing anything. */
  const effect = (key: string, op: string, orderId: string, amount: number, change: () => void) => {
    maybeCrash(`before-${op}`)
    db.transaction(() => {
      if (has.get(key, op)) return
      change()
      record.run(key, op, orderId, amount)
      log.run(key, op, orderId)
    })()
    maybeCrash(`after-${op}`)
  }
  /** Undoes the effect `op` under `key`, once, and only if it happened. */
  const undo = (key: string, op: string, undoOp: string, plan: OrderPlan, change: (amount: number) => void) => {
    const calls = countCall.get(key, undoOp)!.n
    if (calls <= plan.compensationFailures) throw new Error(`${undoOp} unavailable (call ${calls})`)
    maybeCrash(`before-${undoOp}`)
    db.transaction(() => {
      const done = has.get(key, op)
      if (!done || has.get(key, undoOp)) return
      change(done.amount)
      record.run(key, undoOp, plan.orderId, done.amount)
      log.run(key, undoOp, plan.orderId)
    })()
    maybeCrash(`after-${undoOp}`)
  }

  return {
    reserve(key: string, plan: OrderPlan) {
      if (plan.failAt === 'reserve') throw new Error('out of stock')
      effect(key, 'reserve', plan.orderId, plan.qty, () => stock.run(-plan.qty, plan.sku))
      return { sku: plan.sku, qty: plan.qty }
    },
    release(key: string, plan: OrderPlan) {
      undo(key, 'reserve', 'release', plan, (qty) => stock.run(qty, plan.sku))
    },
    charge(key: string, plan: OrderPlan) {
      if (plan.failAt === 'charge') throw new Error('card declined')
      effect(key, 'charge', plan.orderId, plan.amount, () => {
        account.run(-plan.amount, 'customer')
        account.run(plan.amount, 'merchant')
      })
      return { paid: plan.amount }
    },
    refund(key: string, plan: OrderPlan) {
      undo(key, 'charge', 'refund', plan, (amount) => {
        account.run(amount, 'customer')
        account.run(-amount, 'merchant')
      })
    },
    ship(key: string, plan: OrderPlan) {
      if (plan.failAt === 'ship') throw new Error('no courier')
      effect(key, 'ship', plan.orderId, 0, () => undefined)
      return { tracking: `T-${plan.orderId}` }
    },
    confirm(key: string, plan: OrderPlan) {
      const calls = countCall.get(key, 'confirm')!.n
      if (calls <= plan.confirmFailures) throw new Error(`mailer busy (call ${calls})`)
      effect(key, 'confirm', plan.orderId, 0, () => undefined)
    },
  }
}
