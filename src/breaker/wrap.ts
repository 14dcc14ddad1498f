import {
  breakersIn,
  type GuardingBreaker,
  type HoldsBreakers,
  isGuarded,
  kBreakers,
  kExecuteGuarded,
} from './compose.js'
import { contextFor, invoke } from './context.js'
import type { ALT, AltOf, Policy, PolicyContext, PolicyFn } from './types.js'

/** Policies composed by {@link wrap}: itself a policy. */
export class WrappedPolicy<Alt = never> implements Policy<Alt>, HoldsBreakers {
  declare readonly [ALT]?: Alt
  readonly policies: readonly Policy<unknown>[]
  /** How each policy runs the rest of the chain. */
  readonly #steps: readonly Step[]

  constructor(policies: readonly Policy<unknown>[]) {
    this.policies = policies
    this.#steps = policies.map((_, i) => stepOf(policies, i))
  }

  /** Runs `fn` through every policy, outermost first; each one's signal and attempt reach the next. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | Alt> {
    const run = (context: PolicyContext, i: number): Promise<T> => {
      if (i === this.policies.length) return invoke(fn, context)
      const next = (inner: PolicyContext) =>
        run({ signal: inner.signal, attempt: Math.max(context.attempt, inner.attempt) }, i + 1)
      return this.#steps[i]!(next, context.signal)
    }
    return run(contextFor(signal), 0)
  }

  /** The breakers among its policies, for a `wrap` around it. */
  [kBreakers](): readonly GuardingBreaker[] {
    return this.policies.flatMap(breakersIn)
  }
}

type Step = <T>(next: PolicyFn<T>, signal: AbortSignal) => Promise<T>

/**
 * How the policy at `i` runs the rest: through `execute`, or, for a retry (of any installed copy: see
 * compose.ts), guarded by the breakers after it, so that it never retries into an open one.
 */
function stepOf(policies: readonly Policy<unknown>[], i: number): Step {
  const policy = policies[i] as Policy<never>
  if (!isGuarded(policy)) return (next, signal) => policy.execute(next, signal)
  const breakers = policies.slice(i + 1).flatMap(breakersIn)
  return (next, signal) => policy[kExecuteGuarded](next, signal, breakers)
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
