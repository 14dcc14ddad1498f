/**
 * The crash-testing snippet of docs/saga.md, run as a process of its own (guide.unit.spec.ts spawns it):
 * it places orders until a crash point kills it, printing the seed first and each finished order after.
 */
import { memoryEventStore } from '../../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga } from '../../src/saga/index.js'
import { crashPoints } from '../../src/testing/index.js'

const store = memoryEventStore()
const placeOrder = defineSaga<{ amount: number }>('place-order')
  .step('charge', { run: ({ input }) => input.amount, compensate: () => undefined })
  .step('ship', { kind: 'pivot', run: () => 'shipped' })

// #region crash-testing
// A seed per run, printed, so that a run that finds a bug can be replayed with SEED=<seed>.
const seed = process.env.SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEED)
console.log(`crash points: seed ${seed}`)
const crash = crashPoints({ probability: 0.01, seed })
const orchestrator = createSagaOrchestrator({
  store,
  sagas: [placeOrder],
  hooks: { beforeAppend: () => crash.maybeCrash('before-append'), afterAppend: () => crash.maybeCrash('after-append') },
})
// in the fake services: crash.maybeCrash('before-charge'); apply the effect; crash.maybeCrash('after-charge')
// #endregion crash-testing

for (let i = 1; i <= 1_000; i++) {
  const state = await orchestrator.start(placeOrder, { amount: i }, { sagaId: `order-${i}` })
  console.log(`order-${i} ${state.status}`)
}
