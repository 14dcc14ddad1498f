// Compiled with `skipLibCheck: false` BEFORE any client library is installed: a user of the memory
// adapters must not need ioredis, pg, better-sqlite3, mongodb or prom-client, not even their types.
import { isBulwarkError } from 'bulwark'
import { circuitBreaker, retry, wrap } from 'bulwark/breaker'
import { cached, createCache, memoryBus, memoryCacheDriver, setDefaultCache } from 'bulwark/cache'
import { memoryEventStore } from 'bulwark/eventstore'
import { createSagaOrchestrator, defineSaga } from 'bulwark/saga'
import { fakeClock } from 'bulwark/testing'

const cache = createCache({ l2: memoryCacheDriver(), bus: memoryBus(), ttl: '1m' })
setDefaultCache(cache)
export class Repo {
  @cached({ key: (id: string) => `item:${id}` })
  async find(id: string, _verbose?: boolean): Promise<string> {
    return id
  }
}
const policy = wrap(retry({ attempts: 2 }), circuitBreaker({ name: 'memory-only', clock: fakeClock() }))
const saga = defineSaga<{ id: string }>('memory-only').step('one', { run: ({ input }) => input.id })
const orchestrator = createSagaOrchestrator({ store: memoryEventStore(), sagas: [saga] })
export const done: Promise<unknown> = policy.execute(() => orchestrator.start(saga, { id: '1' }))
export const guard: (e: unknown) => boolean = (e) => isBulwarkError(e, 'E_INVALID_OPTION')
