/**
 * One life of the process under test in the saga crash test (run with tsx by crash.unit.spec.ts):
 * recover() what the previous life left, then start this round's orders (and any earlier order that never
 * got as far as SagaStarted), all against SQLite, with crash points that SIGKILL the process.
 *
 * Usage: tsx crash-child.ts <dir> <round> <perRound> <seed> <probability>
 */
import { join } from 'node:path'
import { sqliteEventStore } from '../../src/eventstore/adapters/sqlite.js'
import { createSagaOrchestrator, defineSaga } from '../../src/saga/index.js'
import { crashPoints } from '../../src/testing/crash-points.js'
import { type OrderPlan, openServices, orderIds, planOrder, services } from './crash-services.js'

const [dir, roundArg, perRoundArg, seedArg, probabilityArg] = process.argv.slice(2)
const round = Number(roundArg)
const crash = crashPoints({ probability: Number(probabilityArg), seed: Number(seedArg) })
const store = sqliteEventStore({ path: join(dir!, 'events.db') })
const svc = services(openServices(join(dir!, 'services.db')), crash.maybeCrash)

const placeOrder = defineSaga<OrderPlan>('place-order')
  .parallel([
    {
      name: 'reserve',
      run: ({ input, idempotencyKey }) => svc.reserve(idempotencyKey, input),
      compensate: ({ input, idempotencyKey }) => svc.release(idempotencyKey, input),
    },
    {
      name: 'charge',
      run: ({ input, idempotencyKey }) => svc.charge(idempotencyKey, input),
      compensate: ({ input, idempotencyKey }) => svc.refund(idempotencyKey, input),
    },
  ])
  .step('ship', { kind: 'pivot', run: ({ input, idempotencyKey }) => svc.ship(idempotencyKey, input) })
  .step('confirm', { kind: 'retriable', run: ({ input, idempotencyKey }) => svc.confirm(idempotencyKey, input) })

const orchestrator = createSagaOrchestrator({
  store,
  sagas: [placeOrder],
  compensationRetry: { attempts: 4, backoff: { initial: 2, max: 10 } },
  retriableRetry: { backoff: { initial: 2, max: 10 } },
  // Every life is the same instance: recover() takes over at once what the killed previous life left.
  instanceId: 'crash-test:coordinator:0',
  hooks: {
    beforeAppend: () => crash.maybeCrash('before-append'),
    afterAppend: () => crash.maybeCrash('after-append'),
  },
})

async function main(): Promise<void> {
  const recovered = await orchestrator.recover()
  if (recovered.leased.length > 0) throw new Error(`recover left sagas leased: ${recovered.leased.join(', ')}`)
  if (recovered.failed.length > 0)
    throw new Error(`recover failed: ${recovered.failed.map((f) => f.error.message).join('; ')}`)
  const pending: string[] = []
  for (const orderId of orderIds(round + 1, Number(perRoundArg))) {
    if (!(await orchestrator.get(orderId))) pending.push(orderId)
  }
  const results = await Promise.all(pending.map((id) => orchestrator.start(placeOrder, planOrder(id), { sagaId: id })))
  const unfinished = [...recovered.resumed, ...results].filter(
    (s) => s.status === 'running' || s.status === 'compensating',
  )
  if (unfinished.length > 0) throw new Error(`sagas left unfinished: ${unfinished.map((s) => s.sagaId).join(', ')}`)
  process.stdout.write(`${JSON.stringify({ recovered: recovered.resumed.length, started: pending.length })}\n`)
  await store.close()
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`)
    process.exit(1)
  },
)
