// `bulwark/testing` must load outside a test runner (a crash-test child process imports crashPoints and
// fakeClock), but the conformance suites need vitest, which refuses to load outside `vitest run`. So the
// suites are loaded on first call: `await eventStoreSuite(...)` at the top level of a test file.
import type { CacheBusFactory, CacheDriverFactory } from './cache-suites.js'
import type { EventStoreFactory } from './eventstore-suite.js'

export type { CacheBusFactory, CacheDriverFactory, CacheSuiteContext } from './cache-suites.js'
export type { CrashPoints, CrashPointsOptions } from './crash-points.js'
export { CrashPointError, crashPoints } from './crash-points.js'
export type { EventStoreFactory, EventStoreFixture } from './eventstore-suite.js'
export type { FakeClock } from './fake-clock.js'
export { fakeClock } from './fake-clock.js'

/**
 * Registers the L2 driver conformance suite (vitest) for your driver. Await it at the top level of a
 * test file.
 *
 * @example
 * ```ts
 * import { cacheDriverSuite } from 'bulwark/testing'
 * await cacheDriverSuite('my driver', ({ prefix }) => myDriver({ prefix }))
 * ```
 */
export async function cacheDriverSuite(name: string, factory: CacheDriverFactory): Promise<void> {
  const suites = await import('./cache-suites.js')
  suites.cacheDriverSuite(name, factory)
}

/**
 * Registers the invalidation bus conformance suite (vitest) for your bus. Await it at the top level of
 * a test file.
 *
 * @example
 * ```ts
 * import { cacheBusSuite } from 'bulwark/testing'
 * await cacheBusSuite('my bus', () => myBus())
 * ```
 */
export async function cacheBusSuite(name: string, factory: CacheBusFactory): Promise<void> {
  const suites = await import('./cache-suites.js')
  suites.cacheBusSuite(name, factory)
}

/**
 * Registers the event store conformance suite (vitest) for your adapter. Await it at the top level of
 * a test file.
 *
 * @example
 * ```ts
 * import { eventStoreSuite } from 'bulwark/testing'
 * await eventStoreSuite('my store', async (options) => ({ store: myStore(options) }))
 * ```
 */
export async function eventStoreSuite(name: string, factory: EventStoreFactory): Promise<void> {
  const suite = await import('./eventstore-suite.js')
  suite.eventStoreSuite(name, factory)
}
