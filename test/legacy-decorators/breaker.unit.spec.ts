/** The breaker decorators under `experimentalDecorators` (as in NestJS): see tsconfig.json beside this file. */
import { describe, expect, it } from 'vitest'
import { retry, timeout, withBreaker, withPolicy, withRetry, withTimeout } from '../../src/breaker/index.js'
import { fakeClock } from '../../src/testing/index.js'
import {
  expectBreakerOnMethod,
  expectRetryAndTimeoutOnMethods,
  expectSignalWithoutCallerSignal,
} from '../support/breaker-decorator-cases.js'
import { expectRouteMetadataKept, route } from '../support/route-metadata.js'

describe('breaker decorators (legacy experimentalDecorators)', () => {
  it('withBreaker wraps the method through the descriptor and keeps `this`', async () => {
    class Client {
      constructor(readonly fail: boolean) {}
      @withBreaker({ minimumCalls: 1, clock: fakeClock() })
      async get(id: string): Promise<string> {
        if (this.fail) throw new Error('down')
        return `item ${id}`
      }
    }
    await expectBreakerOnMethod((fail) => new Client(fail))
    const descriptor = Object.getOwnPropertyDescriptor(Client.prototype, 'get')
    expect(descriptor?.enumerable).toBe(false)
  })

  it('withRetry and withTimeout work the same way', async () => {
    const clock = fakeClock(0)
    let calls = 0
    class Service {
      @withRetry(retry({ attempts: 2, backoff: { initial: 1 }, clock }))
      async flaky(): Promise<number> {
        calls++
        if (calls < 2) throw new Error('again')
        return calls
      }

      @withTimeout(timeout(100, { clock }))
      async hang(signal?: AbortSignal): Promise<void> {
        await new Promise((resolve) => signal?.addEventListener('abort', resolve))
        throw new Error('aborted by the timeout signal')
      }
    }
    await expectRetryAndTimeoutOnMethods(clock, new Service(), 2)
  })

  it('keeps the metadata, name and length of the method it replaces', () => {
    class Routed {
      @withBreaker({ minimumCalls: 1 })
      @route
      async breaker(_id: string, _signal?: AbortSignal): Promise<void> {}

      @withRetry({ attempts: 2 })
      @route
      async retried(_id: string, _signal?: AbortSignal): Promise<void> {}

      @withTimeout('1s')
      @route
      async timed(_id: string, _signal?: AbortSignal): Promise<void> {}

      @withPolicy(timeout('1s'))
      @route
      async policy(_id: string, _signal?: AbortSignal): Promise<void> {}
    }
    expectRouteMetadataKept(Routed.prototype, { breaker: 2, retried: 2, timed: 2, policy: 2 })
  })

  it('passes the timeout signal to a method whose caller gave none', async () => {
    const clock = fakeClock(0)
    class Service {
      seen: AbortSignal[] = []
      @withTimeout(timeout(100, { clock }))
      async read(_id: string, signal?: AbortSignal): Promise<void> {
        if (signal) this.seen.push(signal)
        return new Promise(() => {})
      }
    }
    await expectSignalWithoutCallerSignal(clock, new Service())
    class Unsafe {
      // @ts-expect-error an optional last parameter that cannot take the AbortSignal
      @withTimeout('1s')
      async find(id: string, verbose?: boolean): Promise<string> {
        return verbose ? id : ''
      }
    }
    expect(Unsafe).toBeDefined()
  })
})
