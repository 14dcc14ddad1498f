import { ValidationError } from '../core/errors.js'
import type { CountTripsSnapshot } from './count-trips.js'
import type { CircuitState } from './types.js'
import type { WindowSnapshot } from './window.js'

/** What `breaker.toJSON()` writes and the `initialState` option restores. */
export interface BreakerSnapshot {
  version: 1
  state: CircuitState
  /** When the current state began (clock ms). */
  since: number
  /** When OPEN ends (clock ms), or null. */
  openUntil: number | null
  consecutiveOpens: number
  /** The slow-call threshold in force (learned or fixed), ms; null without slow-call detection. */
  slowCallDuration: number | null
  window: WindowSnapshot
  /** The count trips' state, when `failureCount` or `consecutiveFailures` is set (absent otherwise). */
  counts?: CountTripsSnapshot
}

const STATES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled']

/** Validates a snapshot before anything is restored from it. */
export function validateSnapshot(value: unknown): BreakerSnapshot {
  const s = value as Partial<BreakerSnapshot> | null
  const ok =
    typeof s === 'object' &&
    s !== null &&
    s.version === 1 &&
    STATES.includes(s.state as CircuitState) &&
    typeof s.since === 'number' &&
    (s.openUntil === null || typeof s.openUntil === 'number') &&
    Number.isInteger(s.consecutiveOpens) &&
    (s.consecutiveOpens as number) >= 0 &&
    (s.slowCallDuration === null || (typeof s.slowCallDuration === 'number' && s.slowCallDuration >= 0)) &&
    typeof s.window === 'object' &&
    s.window !== null &&
    (s.counts === undefined || (typeof s.counts === 'object' && s.counts !== null))
  if (!ok) throw new ValidationError('initialState', 'a snapshot written by breaker.toJSON() (version 1)', value)
  if ((s.state === 'open' || s.state === 'half_open') && s.openUntil === null)
    throw new ValidationError('initialState.openUntil', 'a time when the state is open or half_open', null)
  return s as BreakerSnapshot
}
