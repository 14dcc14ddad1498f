/**
 * The saga crash test. A child process runs "place order" sagas (reserve + charge in parallel, ship as the
 * pivot, confirm as a retriable step) against a SQLite event store and fake services in another SQLite file,
 * with random step and compensation failures. Crash points SIGKILL it before and after effects and appends.
 * Each round restarts it: it calls recover() and starts more orders. At the end, with crashes off, every
 * saga must be completed, aborted with everything compensated, or parked; no effect may have been applied
 * twice; stock and money must balance with what the sagas' streams say.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteEventStore } from '../../src/eventstore/adapters/sqlite.js'
import { foldSaga } from '../../src/saga/index.js'
import { INITIAL_BALANCE, INITIAL_STOCK, NEVER, openServices, orderIds, planOrder, SKUS } from './crash-services.js'

const ROUNDS = 22
const PER_ROUND = 10
const PROBABILITY = 0.012
const SEED = Number(process.env.SAGA_CRASH_SEED ?? 20_251_126)
const root = new URL('../../', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'bulwark-saga-crash-'))

afterAll(() => {
  if (!process.env.SAGA_CRASH_KEEP) rmSync(dir, { recursive: true, force: true })
})

/** Runs one life of the child; resolves with how it ended. */
function life(round: number, probability: number): Promise<'killed' | 'clean'> {
  const args = [join(root, 'test/saga/crash-child.ts'), dir, String(round), String(PER_ROUND), String(SEED + round)]
  const child = spawn(join(root, 'node_modules/.bin/tsx'), [...args, String(probability)], { cwd: root })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      reject(new Error(`child of round ${round} still running after 60 s (a saga that never settles?)`))
    }, 60_000)
    child.on('error', reject)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      // tsx runs the script in a node child of its own and reports its SIGKILL as exit status 128 + 9.
      if (signal === 'SIGKILL' || status === 137) resolve('killed')
      else if (status === 0) resolve('clean')
      else reject(new Error(`child of round ${round} failed (${status ?? signal}):\n${stderr}`))
    })
  })
}

type Effect = { key: string; op: string; order_id: string; amount: number }

describe('saga crash recovery (SQLite, SIGKILL at random points)', () => {
  it(`${ROUNDS} killed and restarted lives, ${ROUNDS * PER_ROUND} sagas: nothing lost, nothing applied twice`, async () => {
    const lives: string[] = []
    for (let round = 0; round < ROUNDS; round++) lives.push(await life(round, PROBABILITY))
    expect(await life(ROUNDS - 1, 0)).toBe('clean') // a last life without crashes finishes what is left
    const killed = lives.filter((l) => l === 'killed').length
    expect(killed).toBeGreaterThanOrEqual(ROUNDS / 2)

    const store = sqliteEventStore({ path: join(dir, 'events.db') })
    const db = openServices(join(dir, 'services.db'))
    try {
      const effects = db.prepare('SELECT key, op, order_id, amount FROM effects').all() as Effect[]
      const applied = new Map(effects.map((e) => [`${e.order_id}/${e.op}`, e]))

      // No effect applied twice: one application per order and operation, ever.
      const twice = db
        .prepare('SELECT order_id, op, COUNT(*) AS n FROM effect_log GROUP BY order_id, op HAVING n > 1')
        .all()
      expect(twice).toEqual([])
      for (const e of effects) expect(e.key.startsWith(`${e.order_id}:`)).toBe(true)

      const statuses = new Map<string, number>()
      const reruns = { afterCrash: 0 }
      const expectedStockOut = new Map<string, number>(SKUS.map((s) => [s, 0]))
      let expectedCharged = 0
      for (const orderId of orderIds(ROUNDS, PER_ROUND)) {
        const events = await store.readStream(`saga-${orderId}`)
        const state = foldSaga(events)
        expect(state, orderId).toBeDefined()
        if (!state) continue
        statuses.set(state.status, (statuses.get(state.status) ?? 0) + 1)
        const plan = planOrder(orderId)
        const has = (op: string) => applied.has(`${orderId}/${op}`)
        const step = (name: string) => state.steps.find((s) => s.name === name)!
        for (const s of state.steps) if (s.kind !== 'retriable' && s.attempts > 1) reruns.afterCrash++

        if (state.status === 'completed') {
          expect([has('reserve'), has('charge'), has('ship'), has('confirm')], orderId).toEqual([
            true,
            true,
            true,
            true,
          ])
          expect([has('release'), has('refund')], orderId).toEqual([false, false])
          expect(plan.failAt, orderId).toBeNull()
        } else if (state.status === 'aborted') {
          // Every step that executed was compensated, and the services agree.
          expect(
            state.steps.filter((s) => s.status === 'executed'),
            orderId,
          ).toEqual([])
          expect(has('reserve') === has('release'), `${orderId} stock`).toBe(true)
          expect(has('charge') === has('refund'), `${orderId} money`).toBe(true)
          expect([has('ship'), has('confirm')], orderId).toEqual([false, false])
          expect(plan.failAt, orderId).not.toBeNull()
        } else {
          expect(state.status, orderId).toBe('parked')
          expect(plan.compensationFailures, orderId).toBe(NEVER)
          // Parked on a compensation that never works: that effect is still applied, visibly.
          if (step('reserve').status === 'executed') expect([has('reserve'), has('release')]).toEqual([true, false])
          if (step('charge').status === 'executed') expect([has('charge'), has('refund')]).toEqual([true, false])
        }
        if (has('reserve') && !has('release')) {
          expectedStockOut.set(plan.sku, expectedStockOut.get(plan.sku)! + plan.qty)
        }
        if (has('charge') && !has('refund')) expectedCharged += plan.amount
      }

      // Stock and money balance.
      for (const sku of SKUS) {
        const { available } = db.prepare('SELECT available FROM stock WHERE sku = ?').get(sku) as { available: number }
        expect(INITIAL_STOCK - available, sku).toBe(expectedStockOut.get(sku))
      }
      const balance = (id: string) =>
        (db.prepare('SELECT balance FROM accounts WHERE id = ?').get(id) as { balance: number }).balance
      expect(balance('merchant')).toBe(expectedCharged)
      expect(INITIAL_BALANCE - balance('customer')).toBe(expectedCharged)

      // The run exercised what it claims to: every outcome, and steps run again after crashes.
      expect(statuses.get('completed')).toBeGreaterThan(0)
      expect(statuses.get('aborted')).toBeGreaterThan(0)
      expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining(['aborted', 'completed']))
      expect([...statuses.keys()].every((s) => ['completed', 'aborted', 'parked'].includes(s))).toBe(true)
      expect(reruns.afterCrash).toBeGreaterThan(0)
      process.stdout.write(
        `saga crash test: ${killed}/${ROUNDS} lives killed, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${reruns.afterCrash} step re-runs after crashes\n`,
      )
    } finally {
      db.close()
      await store.close()
    }
  }, 240_000)
})
