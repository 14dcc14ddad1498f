/** Shared pieces of the saga unit tests: a store on a fake clock, an orchestrator, and a way to let time run. */
import { memoryEventStore } from '../../src/eventstore/index.js'
import { createSagaOrchestrator, type SagaOrchestratorOptions } from '../../src/saga/index.js'
import { type FakeClock, fakeClock } from '../../src/testing/index.js'

export { deferred } from './deferred.js'

export function harness(options: Partial<SagaOrchestratorOptions> = {}) {
  const clock = fakeClock(1_000_000)
  const store = memoryEventStore({ clock })
  const appends: string[][] = []
  const orchestrator = createSagaOrchestrator({
    store,
    clock,
    compensationRetry: { attempts: 3, backoff: { initial: 1_000, max: 10_000 } },
    retriableRetry: { backoff: { initial: 1_000, max: 10_000 } },
    hooks: { beforeAppend: (_id, events) => void appends.push(events.map((e) => e.type)) },
    ...options,
  })
  return { clock, store, orchestrator, appends }
}

/** Advances the fake clock in steps until `promise` settles (at most `maxMs`), and returns its result. */
export async function settle<T>(clock: FakeClock, promise: Promise<T>, stepMs = 100, maxMs = 600_000): Promise<T> {
  let done = false
  promise.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  for (let elapsed = 0; !done && elapsed < maxMs; elapsed += stepMs) await clock.advanceAsync(stepMs)
  return promise
}

/** Event types of a saga stream, in order. */
export async function streamTypes(store: ReturnType<typeof memoryEventStore>, sagaId: string): Promise<string[]> {
  return (await store.readStream(`saga-${sagaId}`)).map((e) => e.type)
}
