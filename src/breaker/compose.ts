import type { CircuitState, Policy, PolicyFn } from './types.js'

/**
 * How `wrap` speaks to the policies it composes: methods keyed by symbols registered with `Symbol.for`.
 * Two installed copies of Bulwark (an app's and a library's) share these symbols, so a `wrap` of one copy
 * composes the retries and breakers of the other, where `instanceof` would not. The keys and signatures
 * are a protocol between copies: change them only in a new major version.
 */

/** A breaker as a retry sees it, whichever copy made it: a state to read before retrying. */
export interface GuardingBreaker {
  readonly state: CircuitState
}

/** A retry's `execute` that does not retry while any of the given breakers is open (see {@link Guarded}). */
export const kExecuteGuarded: unique symbol = Symbol.for('bulwark.breaker.executeGuarded')

/** The breakers a policy is or holds (see {@link HoldsBreakers}). */
export const kBreakers: unique symbol = Symbol.for('bulwark.breaker.breakers')

/** A policy `wrap` can tell which breakers follow it: a retry. */
export interface Guarded {
  [kExecuteGuarded]<T>(
    fn: PolicyFn<T>,
    signal: AbortSignal | undefined,
    breakers: readonly GuardingBreaker[],
  ): Promise<T>
}

/** A breaker (itself) or a composition of policies (the breakers among them). */
export interface HoldsBreakers {
  [kBreakers](): readonly GuardingBreaker[]
}

export function isGuarded<P extends Policy<unknown>>(policy: P): policy is P & Guarded {
  return typeof (policy as Partial<Guarded>)[kExecuteGuarded] === 'function'
}

/** The breakers `policy` is or holds, from any installed copy; none for other policies. */
export function breakersIn(policy: Policy<unknown>): readonly GuardingBreaker[] {
  const holder = policy as Partial<HoldsBreakers>
  return typeof holder[kBreakers] === 'function' ? holder[kBreakers]() : []
}
