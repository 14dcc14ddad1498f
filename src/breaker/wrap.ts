import { CircuitBreaker } from './breaker.js'
import { contextFor, invoke } from './context.js'
import { RetryPolicy } from './retry.js'
import type { ALT, AltOf, Policy, PolicyContext, PolicyFn } from './types.js'

/** Policies composed by {@link wrap}: itself a policy. */
export class WrappedPolicy<Alt = never> implements Policy<Alt> {
  declare readonly [ALT]?: Alt
  readonly policies: readonly Policy<unknown>[]
  /** For each position, the breakers after it, so a retry there never retries into an open breaker. */
  readonly #downstream: readonly CircuitBreaker[][]

  constructor(policies: readonly Policy<unknown>[]) {
    this.policies = policies
    this.#downstream = policies.map((_, i) => policies.slice(i + 1).flatMap(breakersIn))
  }

  /** Runs `fn` through every policy, outermost first; each one's signal and attempt reach the next. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | Alt> {
    const run = (context: PolicyContext, i: number): Promise<T> => {
      if (i === this.policies.length) return invoke(fn, context)
      const policy = this.policies[i] as Policy<never>
      const next = (inner: PolicyContext) =>
        run({ signal: inner.signal, attempt: Math.max(context.attempt, inner.attempt) }, i + 1)
      if (policy instanceof RetryPolicy) return policy.executeGuarded(next, context.signal, this.#downstream[i]!)
      return policy.execute(next, context.signal)
    }
    return run(contextFor(signal), 0)
  }
}

function breakersIn(policy: Policy<unknown>): CircuitBreaker[] {
  if (policy instanceof CircuitBreaker) return [policy]
  if (policy instanceof WrappedPolicy) return policy.policies.flatMap(breakersIn)
  return []
}

/**
 * Composes policies, outermost first, as cockatiel's `wrap` does: `wrap(a, b, c).execute(fn)` runs
 * `a.execute(() => b.execute(() => c.execute(fn)))`, passing the signal and context through. A `retry`
 * in the list never retries while a breaker after it is open.
 *
 * @example
 * ```ts
 * const policy = wrap(fallback([]), retry({ attempts: 3 }), circuitBreaker(), timeout('2s'))
 * const items = await policy.execute(({ signal }) => fetchItems({ signal }))
 * ```
 */
export function wrap<const P extends readonly Policy<unknown>[]>(...policies: P): WrappedPolicy<AltOf<P[number]>> {
  return new WrappedPolicy(policies)
}
