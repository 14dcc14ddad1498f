import type { Duration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { CircuitBreaker } from './breaker.js'
import type { CircuitBreakerOptions } from './options.js'
import { type RetryOptions, RetryPolicy } from './retry.js'
import { type TimeoutOptions, TimeoutPolicy, timeout } from './timeout.js'
import type { Policy } from './types.js'

type AsyncMethod<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>

/**
 * A method decorator usable both as a TypeScript standard decorator and with `experimentalDecorators`
 * (NestJS). It applies to methods returning a promise.
 */
export interface PolicyMethodDecorator {
  <This, Args extends unknown[], R>(
    value: AsyncMethod<This, Args, R>,
    context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>>,
  ): AsyncMethod<This, Args, R>
  <T>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>): TypedPropertyDescriptor<T>
}

/**
 * A decorator running the method through `policy`. If the method's last argument is an `AbortSignal`, it is
 * passed to the policy, and the method receives the policy's signal in its place (a timeout's, say).
 */
export function withPolicy(policy: Policy): PolicyMethodDecorator {
  if (typeof policy?.execute !== 'function')
    throw new ValidationError('policy', 'a policy', policy, 'E_INVALID_ARGUMENT')
  const decorate = (original: unknown): ((this: unknown, ...args: unknown[]) => Promise<unknown>) => {
    if (typeof original !== 'function')
      throw new ValidationError('decorated member', 'a method', original, 'E_INVALID_ARGUMENT')
    return function (this: unknown, ...args: unknown[]) {
      const last = args.length - 1
      const signal = args[last] instanceof AbortSignal ? (args[last] as AbortSignal) : undefined
      return policy.execute(({ signal: inner }) => {
        if (signal !== undefined) args[last] = inner
        return original.apply(this, args)
      }, signal)
    }
  }
  function decorator(value: unknown, context: unknown, descriptor?: PropertyDescriptor): unknown {
    const standard = typeof context === 'object' && context !== null && 'kind' in context
    if (standard) {
      const kind = (context as ClassMethodDecoratorContext).kind
      if (kind !== 'method') throw new ValidationError('decorated member', 'a method', kind, 'E_INVALID_ARGUMENT')
      return decorate(value)
    }
    return { ...descriptor, value: decorate(descriptor?.value) }
  }
  return decorator as PolicyMethodDecorator
}

/**
 * Runs the method through a circuit breaker: a breaker instance (to share it) or options for one breaker
 * shared by every instance of the class.
 *
 * @example
 * ```ts
 * class PricesClient {
 *   @withBreaker({ failureRateThreshold: 0.5, openDuration: '10s' })
 *   async current(sku: string): Promise<Price> { return this.http.get(`/prices/${sku}`) }
 * }
 * ```
 */
export function withBreaker(breaker: CircuitBreaker | CircuitBreakerOptions = {}): PolicyMethodDecorator {
  return withPolicy(breaker instanceof CircuitBreaker ? breaker : new CircuitBreaker(breaker))
}

/**
 * Retries the method (see `retry`).
 *
 * @example
 * ```ts
 * class Inventory {
 *   @withRetry({ attempts: 3, initialDelay: '50ms' })
 *   async reserve(sku: string, qty: number): Promise<void> { await this.api.post('/reserve', { sku, qty }) }
 * }
 * ```
 */
export function withRetry(policy: RetryPolicy | RetryOptions = {}): PolicyMethodDecorator {
  return withPolicy(policy instanceof RetryPolicy ? policy : new RetryPolicy(policy))
}

/**
 * Gives the method a deadline (see `timeout`). Pass an `AbortSignal` as its last argument to receive the
 * timeout's signal.
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
