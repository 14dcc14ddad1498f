// One saga through the installed tarball: SQLite event store (better-sqlite3), a breaker on one step,
// and a failure that compensates the step before it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { circuitBreaker } from 'bulwark/breaker'
import { sqliteEventStore } from 'bulwark/eventstore/sqlite'
import { createSagaOrchestrator, defineSaga } from 'bulwark/saga'
import { afterAll, expect, it } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'bulwark-consumer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('runs a saga to completion, and compensates one whose next step fails', async () => {
  const stock = new Map([['A1', 5]])
  const placeOrder = defineSaga<{ sku: string; qty: number; amount: number }>('place-order')
    .step('reserve', {
      run: ({ input }) => {
        stock.set(input.sku, (stock.get(input.sku) ?? 0) - input.qty)
        return { sku: input.sku, qty: input.qty }
      },
      compensate: ({ output }) => {
        if (output) stock.set(output.sku, (stock.get(output.sku) ?? 0) + output.qty)
      },
    })
    .step('charge', {
      kind: 'pivot',
      policy: circuitBreaker({ name: 'payments' }),
      run: async ({ input }) => {
        if (input.amount > 100) throw new Error('card declined')
        return { paid: input.amount }
      },
    })
  const store = sqliteEventStore({ path: join(dir, 'events.db') })
  const orchestrator = createSagaOrchestrator({ store, sagas: [placeOrder] })

  const ok = await orchestrator.start(placeOrder, { sku: 'A1', qty: 2, amount: 40 }, { sagaId: 'o-1' })
  expect(ok.status).toBe('completed')
  expect(ok.outputs.charge).toEqual({ paid: 40 })

  const declined = await orchestrator.start(placeOrder, { sku: 'A1', qty: 1, amount: 500 }, { sagaId: 'o-2' })
  expect(declined.status).toBe('aborted')
  expect(stock.get('A1')).toBe(3)
  await store.close()
})
