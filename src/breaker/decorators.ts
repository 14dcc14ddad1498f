import type { Duration } from '../core/duration.js'
import { BulwarkError, ValidationError } from '../core/errors.js'
import { methodDecorator } from '../core/method-decorator.js'
import { CircuitBreaker } from './breaker.js'
import type { CircuitBreakerOptions } from './options.js'
import { BreakerRegistry } from './registry.js'
import { type RetryOptions, RetryPolicy } from './retry.js'
import { type TimeoutOptions, TimeoutPolicy, timeout } from './timeout.js'
import type { Policy } from './types.js'

type AsyncMethod<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>

/** The method's last parameter (with `undefined` when it is optional), `never` when it has none. */
type LastParameter<Args extends unknown[]> =
  Required<Args> extends [...infer Head, unknown] ? Args[Head['length'] & keyof Args] : never

/**
 * The decorators pass the policy's `AbortSignal` in the method's last parameter when the caller leaves
 * it out: so a last parameter that may be left out must accept one.
 */
type SignalParameter<Args extends unknown[]> = number extends Args['length']
  ? unknown
  : undefined extends LastParameter<Args>
    ? AbortSignal extends LastParameter<Args>
      ? unknown
      : { 'an optional last parameter receives the AbortSignal: declare it `signal?: AbortSignal`': never }
    : unknown

/**
 * A method decorator usable both as a TypeScript standard decorator and with `experimentalDecorators`
 * (NestJS). It applies to methods returning a promise, and keeps their name, length and reflect-metadata.
 */
export interface PolicyMethodDecorator {
  <This, Args extends unknown[], R>(
    value: AsyncMethod<This, Args, R>,
    context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>> & SignalParameter<Args>,
  ): AsyncMethod<This, Args, R>
  <Args extends unknown[], R>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<(...args: Args) => Promise<R>> & SignalParameter<Args>,
  ): TypedPropertyDescriptor<(...args: Args) => Promise<R>>
}

/**
 * A decorator running the method through `policy`, or through the policy a function returns when the
 * method runs (so it may come from a DI container or from configuration loaded after the class).
 *
 * The method's last declared parameter receives the policy's `AbortSignal` (a timeout's aborts at the
 * deadline) when the caller passes an `AbortSignal` there, which the policy then follows, or leaves it
 * out. A last parameter that is given and is not a signal is left alone.
 *
 * @example
 * ```ts
 * const resilient = wrap(retry({ attempts: 3 }), timeout('2s'))
 * class Prices {
 *   @withPolicy(resilient)
 *   async current(sku: string, signal?: AbortSignal): Promise<Price> {
 *     return (await fetch(`${base}/prices/${sku}`, { signal })).json()
 *   }
 *   @withPolicy(() => container.get(PricesPolicy)) // looked up on every call
 *   async history(sku: string, signal?: AbortSignal): Promise<Price[]> {
 *     return (await fetch(`${base}/prices/${sku}/history`, { signal })).json()
 *   }
 * }
 * ```
 */
export function withPolicy(policy: Policy | (() => Policy)): PolicyMethodDecorator {
  const policyOf = policySource(policy)
  return methodDecorator('withPolicy', (original) => {
    const slot = original.length - 1
    return function (this: unknown, ...args: unknown[]) {
      let policy: Policy
      try {
        policy = policyOf()
      } catch (error) {
        // An async method reports every failure through its promise, a missing registry's too.
        return Promise.reject(error)
      }
      // Without declared parameters (a rest parameter), a trailing AbortSignal argument is the slot.
      const at = slot >= 0 ? slot : args[args.length - 1] instanceof AbortSignal ? args.length - 1 : -1
      const given = args[at]
      if (at < 0 || (given !== undefined && !(given instanceof AbortSignal))) {
        return policy.execute(() => original.apply(this, args as never[]))
      }
      return policy.execute(({ signal }) => {
        args[at] = signal
        return original.apply(this, args as never[])
      }, given)
    }
  }) as PolicyMethodDecorator
}

function policySource(policy: Policy | (() => Policy)): () => Policy {
  if (typeof policy === 'function') {
    return () => {
      const found = policy()
      if (!isPolicy(found)) throw new ValidationError('policy()', 'a policy', found, { code: 'E_INVALID_ARGUMENT' })
      return found
    }
  }
  if (!isPolicy(policy)) throw new ValidationError('policy', 'a policy', policy, { code: 'E_INVALID_ARGUMENT' })
  return () => policy
}

function isPolicy(value: unknown): value is Policy {
  return typeof (value as Policy | undefined)?.execute === 'function'
}

let defaultRegistry: BreakerRegistry | undefined

/**
 * Registers the registry in which `@withBreaker('name')` finds its breaker (pass `undefined` to unset).
 * It is looked up when a decorated method runs, so it may be registered after the classes load.
 *
 * @example
 * ```ts
 * setDefaultBreakerRegistry(createBreakerRegistry({ defaults: config.breakers.defaults }))
 * ```
 */
export function setDefaultBreakerRegistry(registry: BreakerRegistry | undefined): void {
  if (registry !== undefined && !(registry instanceof BreakerRegistry)) {
    throw new ValidationError('registry', 'a registry from createBreakerRegistry()', registry, {
      code: 'E_INVALID_ARGUMENT',
    })
  }
  defaultRegistry = registry
}

function registryBreaker(name: string): () => Policy {
  if (typeof name !== 'string' || name === '') throw new ValidationError('breaker', 'a non-empty name', name)
  return () => {
    if (defaultRegistry === undefined) {
      throw new BulwarkError(
        'E_INVALID_OPTION',
        `@withBreaker('${name}') has no registry: call setDefaultBreakerRegistry(registry) first`,
      )
    }
    return defaultRegistry.get(name)
  }
}

/**
 * Runs the method through a circuit breaker: a breaker instance (to share it), options for one breaker
 * shared by every instance of the class, the name of a breaker in the registry given to
 * {@link setDefaultBreakerRegistry}, or a function returning a breaker; a name or a function is
 * resolved each time the method runs, so the breaker's options may come from DI or configuration.
 *
 * @example
 * ```ts
 * class PricesClient {
 *   @withBreaker({ failureRateThreshold: 0.5, openDuration: '10s' })
 *   async current(sku: string): Promise<Price> { return (await fetch(`${base}/prices/${sku}`)).json() }
 *
 *   @withBreaker('prices') // setDefaultBreakerRegistry(registry) at startup
 *   async history(sku: string): Promise<Price[]> { return (await fetch(`${base}/prices/${sku}/history`)).json() }
 * }
 * ```
 */
export function withBreaker(
  breaker: CircuitBreaker | CircuitBreakerOptions | string | (() => CircuitBreaker) = {},
): PolicyMethodDecorator {
  if (typeof breaker === 'string') return withPolicy(registryBreaker(breaker))
  if (typeof breaker === 'function') return withPolicy(breaker)
  return withPolicy(breaker instanceof CircuitBreaker ? breaker : new CircuitBreaker(breaker))
}

/**
 * Retries the method (see `retry`).
 *
 * @example
 * ```ts
 * class Inventory {
 *   @withRetry({ attempts: 3, backoff: { initial: '50ms' } })
 *   async reserve(sku: string, qty: number): Promise<void> { await this.api.post('/reserve', { sku, qty }) }
 * }
 * ```
 */
export function withRetry(policy: RetryPolicy | RetryOptions = {}): PolicyMethodDecorator {
  return withPolicy(policy instanceof RetryPolicy ? policy : new RetryPolicy(policy))
}

/**
 * Gives the method a deadline (see `timeout`). Its last parameter receives the timeout's `AbortSignal`,
 * which aborts at the deadline, whether or not the caller passed a signal there.
 *
 * @example
 * ```ts
 * class Search {
 *   @withTimeout('500ms')
 *   async query(text: string, signal?: AbortSignal): Promise<Hit[]> { return this.es.search(text, { signal }) }
 * }
 * ```
 */
export function withTimeout(duration: Duration | TimeoutOptions | TimeoutPolicy): PolicyMethodDecorator {
  return withPolicy(duration instanceof TimeoutPolicy ? duration : timeout(duration))
}
