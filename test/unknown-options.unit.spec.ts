/**
 * Every public factory rejects an option key it does not know with E_INVALID_OPTION naming the
 * nearest known one: in JavaScript a misspelt option would otherwise be silently ignored.
 */
import { describe, expect, it } from 'vitest'
import { prometheusExporter } from '../src/breaker/adapters/prometheus.js'
import {
  bulkhead,
  circuitBreaker,
  createBreakerRegistry,
  fallback,
  retry,
  retryBudget,
  timeout,
} from '../src/breaker/index.js'
import { memoryCacheDriver } from '../src/cache/adapters/memory.js'
import { redisBus, redisCacheDriver } from '../src/cache/adapters/redis.js'
import { cached, cacheEvict, cachePut, createCache, memoryBus } from '../src/cache/index.js'
import { BulwarkError, isBulwarkError } from '../src/core/errors.js'
import { expectOptions } from '../src/core/validate.js'
import { mongoEventStore } from '../src/eventstore/adapters/mongodb.js'
import { postgresEventStore } from '../src/eventstore/adapters/postgres.js'
import { sqliteEventStore } from '../src/eventstore/adapters/sqlite.js'
import { aggregateRepository, memoryEventStore, projection, subscribe } from '../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga } from '../src/saga/index.js'
import { crashPoints } from '../src/testing/index.js'

/**
 * Runs `make` and returns the message of the E_INVALID_OPTION it must throw (saga definitions report
 * every bad option as E_SAGA_DEFINITION, naming the saga and step).
 */
function rejection(make: () => unknown): string {
  try {
    make()
  } catch (error) {
    if (isBulwarkError(error, 'E_INVALID_OPTION') || isBulwarkError(error, 'E_SAGA_DEFINITION')) return error.message
    throw error
  }
  throw new Error('accepted an unknown option')
}

const store = memoryEventStore()
const aggregate = { initialState: () => 0, evolve: (s: number) => s }
const saga = defineSaga<unknown>('s').step('one', { kind: 'pivot', run: () => 1 })

describe('unknown option keys', () => {
  it('name the option and the closest known one', () => {
    expect(rejection(() => createCache({ tll: 60000 } as never))).toBe('Unknown option `tll`; did you mean `ttl`?')
    expect(rejection(() => circuitBreaker({ minimumCall: 5 } as never))).toBe(
      'Unknown option `minimumCall`; did you mean `minimumCalls`?',
    )
    expect(rejection(() => createCache({ l1: { maxEntry: 5 } } as never))).toBe(
      'Unknown option `l1.maxEntry`; did you mean `l1.maxEntries`?',
    )
  })

  it('name the new option when an option was renamed before 1.0 (there are no aliases)', () => {
    expect(rejection(() => retry({ initialDelay: '1s' } as never))).toBe(
      'Unknown option `initialDelay`; did you mean `backoff.initial`? (renamed)',
    )
    expect(rejection(() => retry({ maxDelay: '1s' } as never))).toContain('did you mean `backoff.max`?')
    expect(rejection(() => createSagaOrchestrator({ store, compensationRetry: { maxAttempts: 3 } } as never))).toBe(
      'Unknown option `compensationRetry.maxAttempts`; did you mean `compensationRetry.attempts`? (renamed; attempts in all, the first included)',
    )
    expect(rejection(() => createSagaOrchestrator({ store, retriableRetry: { factor: 3 } } as never))).toContain(
      'did you mean `retriableRetry.backoff.multiplier`?',
    )
    // Only where the new name exists: elsewhere an old name gets the ordinary hint.
    expect(rejection(() => bulkhead({ maxConcurrent: 1, maxDelay: 1 } as never))).toBe(
      'Unknown option `maxDelay`; known options: `maxConcurrent`, `maxQueue`',
    )
  })

  it('list the known options when none is close', () => {
    expect(rejection(() => bulkhead({ maxConcurrent: 1, colour: 'red' } as never))).toBe(
      'Unknown option `colour`; known options: `maxConcurrent`, `maxQueue`',
    )
  })

  it('are typed errors carrying the option and the suggestion', () => {
    try {
      expectOptions('options', { tll: 1 }, ['ttl', 'grace'])
    } catch (error) {
      expect(error).toBeInstanceOf(BulwarkError)
      expect((error as BulwarkError).context).toMatchObject({ name: 'tll', suggestion: 'ttl' })
    }
    expect.assertions(2)
  })

  it.each<[string, () => unknown, string]>([
    ['createCache', () => createCache({ grase: '1h' } as never), 'grace'],
    ['createCache lock', () => createCache({ lock: { wiat: 5 } } as never), 'lock.wait'],
    ['createCache breaker', () => createCache({ breaker: { minimumCall: 1 } } as never), 'breaker.minimumCalls'],
    ['memoryCacheDriver', () => memoryCacheDriver({ clok: undefined } as never), 'clock'],
    ['memoryBus', () => memoryBus({ hubb: undefined } as never), 'hub'],
    ['redisCacheDriver', () => redisCacheDriver({ url: 'redis://x', keyPrefx: 'a' } as never), 'keyPrefix'],
    ['redisBus', () => redisBus({ url: 'redis://x', subscribeTimout: 1 } as never), 'subscribeTimeout'],
    ['cached', () => cached({ key: () => 'k', tll: 1 } as never), 'ttl'],
    ['cachePut', () => cachePut({ key: () => 'k', tagz: [] } as never), 'tags'],
    ['cacheEvict', () => cacheEvict({ al: true } as never), 'all'],
    [
      'circuitBreaker halfOpen',
      () => circuitBreaker({ halfOpen: { permitedCalls: 1 } } as never),
      'halfOpen.permittedCalls',
    ],
    ['circuitBreaker window', () => circuitBreaker({ window: { type: 'count', sise: 5 } } as never), 'window.size'],
    ['retry', () => retry({ attempt: 3 } as never), 'attempts'],
    ['timeout', () => timeout({ duration: 1, clok: undefined } as never), 'clock'],
    ['bulkhead', () => bulkhead({ maxConcurent: 1 } as never), 'maxConcurrent'],
    ['fallback', () => fallback(1, { whn: () => true } as never), 'when'],
    ['retryBudget', () => retryBudget({ ratoi: 0.1 } as never), 'ratio'],
    ['createBreakerRegistry', () => createBreakerRegistry({ maxKey: 1 } as never), 'maxKeys'],
    ['prometheusExporter', () => prometheusExporter(createBreakerRegistry(), { prefx: 'x' } as never), 'prefix'],
    ['memoryEventStore', () => memoryEventStore({ upcaster: undefined } as never), 'upcasters'],
    ['sqliteEventStore', () => sqliteEventStore({ path: ':memory:', tablePrefx: 'x' } as never), 'tablePrefix'],
    [
      'postgresEventStore',
      () => postgresEventStore({ connectionString: 'postgres://x', shema: 'x' } as never),
      'schema',
    ],
    ['mongoEventStore', () => mongoEventStore({ url: 'mongodb://x', databse: 'x' } as never), 'database'],
    ['aggregateRepository', () => aggregateRepository(store, { aggregate, streamPrefx: 'a' } as never), 'streamPrefix'],
    [
      'subscribe',
      () => subscribe(store, { subscriptionId: 's', handler: () => {}, batchSiz: 1 } as never),
      'batchSize',
    ],
    [
      'projection',
      () => projection(store, { projectionId: 'p', handlers: { A: () => {} }, form: 'start' } as never),
      'from',
    ],
    [
      'createSagaOrchestrator',
      () => createSagaOrchestrator({ store, sagas: [saga], recoverConcurency: 1 } as never),
      'recoverConcurrency',
    ],
    ['defineSaga', () => defineSaga('x', { deadlin: '1s' } as never), 'deadline'],
    [
      'saga step',
      () => defineSaga('x').step('a', { run: () => 1, compensat: () => {} } as never),
      'steps.a.compensate',
    ],
    [
      'saga step retry',
      () => defineSaga('x').step('a', { kind: 'retriable', run: () => 1, retry: { attempt: 2 } } as never),
      'attempts',
    ],
    ['crashPoints', () => crashPoints({ probabilty: 0.1 } as never), 'probability'],
  ])('%s', (_, make, suggestion) => {
    expect(rejection(make)).toContain(`did you mean \`${suggestion}\`?`)
  })
})
