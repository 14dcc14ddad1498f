import type { Rejection } from './reject.js'
import type { CircuitState } from './types.js'

export const CLOSED = 0
export const OPEN = 1
export const HALF_OPEN = 2
export const FORCED_OPEN = 3
export const DISABLED = 4
/** The public name of each state, by number. */
export const NAMES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled']

/**
 * A breaker's state with the data that belongs to it, as cockatiel's `{ value: Open, openedAt }`: when it
 * began, and for the states that refuse calls, the rejection they get and when HALF_OPEN may begin.
 *
 * A transition makes a new phase, even to the same state (`reset()` while closed): a call that started under
 * an earlier phase tells by identity, and then only reports its outcome; it decides nothing.
 *
 * Every phase has the same four fields in the same order (`until` 0 and `rejection` undefined where the state
 * has none): one object shape, so reading `phase.state` on the breaker's hot path stays monomorphic.
 */
export type Phase = Closed | Open | HalfOpen | ForcedOpen | Disabled

interface PhaseOf<State extends number, Until extends number, R extends Rejection | undefined> {
  readonly state: State
  /** When the phase began (the breaker's time in state). */
  readonly since: number
  readonly until: Until
  readonly rejection: R
}

export type Closed = PhaseOf<typeof CLOSED, 0, undefined>
/** `until`: when HALF_OPEN may begin. `rejection`: one error (and outcome) for every call refused meanwhile. */
export type Open = PhaseOf<typeof OPEN, number, Rejection>
/** Keeps its open period's `until` (for snapshots) and rejection (for the calls past the probe permits). */
export type HalfOpen = PhaseOf<typeof HALF_OPEN, number, Rejection>
export type ForcedOpen = PhaseOf<typeof FORCED_OPEN, 0, Rejection>
export type Disabled = PhaseOf<typeof DISABLED, 0, undefined>

export const closed = (since: number): Closed => ({ state: CLOSED, since, until: 0, rejection: undefined })

export const open = (since: number, until: number, rejection: Rejection): Open => ({
  state: OPEN,
  since,
  until,
  rejection,
})

export const halfOpen = (since: number, after: Open): HalfOpen => ({
  state: HALF_OPEN,
  since,
  until: after.until,
  rejection: after.rejection,
})

export const forcedOpen = (since: number, rejection: Rejection): ForcedOpen => ({
  state: FORCED_OPEN,
  since,
  until: 0,
  rejection,
})

export const disabled = (since: number): Disabled => ({ state: DISABLED, since, until: 0, rejection: undefined })
