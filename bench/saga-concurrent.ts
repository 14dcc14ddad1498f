/**
 * Sagas per second with many in flight at once, the shape of a busy service: `inFlight` workers each
 * start a saga and, when it completes, the next one, until `total` have completed. Every saga appends
 * six times to its own stream, so concurrent sagas' appends can share the store's commits.
 */
import type { EventStore } from '../src/eventstore/index.js'
import { createSagaOrchestrator, type SagaDefinition } from '../src/saga/index.js'

export async function concurrentSagasPerSecond<I>(
  store: EventStore,
  saga: SagaDefinition<I>,
  options: { inFlight: number; total: number; input: (n: number) => I; prefix: string },
): Promise<number> {
  const orchestrator = createSagaOrchestrator({ store, sagas: [saga] })
  let next = 0
  const worker = async () => {
    while (next < options.total) {
      const n = next++
      const state = await orchestrator.start(saga, options.input(n), { sagaId: `${options.prefix}-${n}` })
      if (state.status !== 'completed') throw new Error(`saga ${state.sagaId} ended ${state.status}`)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: options.inFlight }, worker))
  return Math.round((options.total * 1000) / (performance.now() - started))
}
