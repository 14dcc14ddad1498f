import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  expectBreakerOnMethod,
  expectRetryAndTimeoutOnMethods,
  expectSignalWithoutCallerSignal,
} from '../../test/support/breaker-decorator-cases.js'
import { expectRouteMetadataKept, route } from '../../test/support/route-metadata.js'
import { isBulwarkError } from '../core/errors.js'
import { fakeClock } from '../testing/index.js'
import {
  circuitBreaker,
  createBreakerRegistry,
  isBrokenCircuitError,
  retry,
  setDefaultBreakerRegistry,
  timeout,
  withBreaker,
  withPolicy,
  withRetry,
  withTimeout,
} from './index.js'

describe('decorators (standard)', () => {
  it('withBreaker records calls of every instance in one breaker and keeps `this`', async () => {
    const breaker = circuitBreaker({ clock: fakeClock(), minimumCalls: 2, failureRateThreshold: 0.5 })
    class Client {
      constructor(readonly fail: boolean) {}
      @withBreaker(breaker)
      async get(id: string): Promise<string> {
        if (this.fail) throw new Error('down')
        return `item ${id}`
      }
    }
    await expectBreakerOnMethod((fail) => new Client(fail))
    expectTypeOf(new Client(false).get).parameters.toEqualTypeOf<[string]>()
    expectTypeOf(new Client(false).get).returns.toEqualTypeOf<Promise<string>>()
  })

  it('withRetry retries, withTimeout passes its signal in place of the last AbortSignal argument', async () => {
    const clock = fakeClock(0)
    let calls = 0
    class Service {
      @withRetry(retry({ attempts: 3, backoff: { initial: 1 }, clock }))
      async flaky(): Promise<number> {
        calls++
        if (calls < 3) throw new Error('again')
        return calls
      }

      @withTimeout(timeout(100, { clock }))
      async hang(signal?: AbortSignal): Promise<AbortSignal | undefined> {
        return new Promise(() => signal)
      }

      @withTimeout(timeout(100, { clock }))
      async echo(signal?: AbortSignal): Promise<AbortSignal | undefined> {
        return signal
      }
    }
    const service = new Service()
    await expectRetryAndTimeoutOnMethods(clock, service, 3)
    const outer = new AbortController()
    const inner = await service.echo(outer.signal)
    expect(inner).toBeInstanceOf(AbortSignal)
    expect(inner).not.toBe(outer.signal) // the timeout's own signal, which also follows the caller's
  })

  it('withBreaker with options makes one breaker; bad arguments are typed errors', async () => {
    class A {
      @withBreaker({ minimumCalls: 1 })
      async run(): Promise<void> {
        throw new Error('x')
      }
    }
    await expect(new A().run()).rejects.toThrow('x')
    await expect(new A().run()).rejects.toSatisfy(isBrokenCircuitError)
    expect(() => withBreaker({ minimumCalls: 0 })).toThrow(/minimumCalls/)
    expect(() => withPolicy({} as never)).toThrow(/policy/)
    expect(() => withTimeout('x' as never)).toThrow(/duration/)
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

      @withTimeout(timeout(100, { clock }))
      async required(id: string): Promise<string> {
        return id
      }
    }
    await expectSignalWithoutCallerSignal(clock, new Service())
    // A last parameter that is given and is not a signal is left alone.
    expect(await new Service().required('x')).toBe('x')
    class Unsafe {
      // @ts-expect-error an optional last parameter that cannot take the AbortSignal
      @withTimeout('1s')
      async find(id: string, verbose?: boolean): Promise<string> {
        return verbose ? id : ''
      }
    }
    expect(Unsafe).toBeDefined()
  })

  it('resolves a breaker by name from the default registry, or a policy from a function, on each call', async () => {
    const clock = fakeClock()
    class Client {
      @withBreaker('prices')
      async byName(): Promise<never> {
        throw new Error('down')
      }

      @withPolicy(() => current)
      async byFunction(): Promise<string> {
        return 'ok'
      }
    }
    const client = new Client()
    setDefaultBreakerRegistry(undefined)
    await expect(client.byName()).rejects.toSatisfy((e: unknown) => isBulwarkError(e, 'E_INVALID_OPTION'))
    const registry = createBreakerRegistry({ defaults: { minimumCalls: 1, clock } })
    setDefaultBreakerRegistry(registry)
    await expect(client.byName()).rejects.toThrow('down')
    await expect(client.byName()).rejects.toSatisfy(isBrokenCircuitError)
    expect(registry.get('prices').state).toBe('open')
    setDefaultBreakerRegistry(undefined)

    let current = circuitBreaker({ clock })
    expect(await client.byFunction()).toBe('ok')
    current.isolate()
    await expect(client.byFunction()).rejects.toSatisfy(isBrokenCircuitError)
    current = circuitBreaker({ clock })
    expect(await client.byFunction()).toBe('ok')
    expect(() => withBreaker('')).toThrow(/breaker/)
    expect(() => setDefaultBreakerRegistry({} as never)).toThrow(/registry/)
  })
})
