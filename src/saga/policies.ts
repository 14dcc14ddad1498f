/**
 * A step's `retry`, `timeout` and `policy` become one `bulwark/breaker` pipeline: retry outermost, then
 * the step's own policy (typically a shared circuit breaker), then the timeout of each attempt. So an open
 * breaker fails the step at once (retry never retries into it) and every attempt gets its own time limit.
 */

import { type Policy, type RetryOptions, retry, timeout, wrap } from '../breaker/index.js'
import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import { ValidationError } from '../core/errors.js'
import { expectDuration, expectOptions } from '../core/validate.js'
import type { StepOptions, StepPolicy } from './types.js'

/**
 * Runs a step's action under its policies. `beforeRetry` runs before every call the step's `retry` makes
 * after the first, outside the step's own policy and timeout: the orchestrator records the call there.
 */
export type StepExecutor = (
  fn: (context: { signal: AbortSignal; attempt: number }) => unknown,
  signal: AbortSignal,
  beforeRetry: () => Promise<void>,
) => Promise<unknown>

/** A step's validated policy options; turned into an executor per orchestrator, on its clock. */
export interface StepPolicies {
  retry?: Omit<RetryOptions, 'clock'>
  timeout?: number
  policy?: StepPolicy
}

/** Validates `retry`, `timeout` and `policy` of a step's options (throws a ValidationError naming the option). */
export function validateStepPolicies(name: string, options: StepOptions<unknown, object, unknown>): StepPolicies {
  const policies: StepPolicies = {}
  if (options.retry !== undefined) {
    const retryOptions: Omit<RetryOptions, 'clock'> =
      typeof options.retry === 'number'
        ? { attempts: options.retry }
        : expectOptions(`steps.${name}.retry`, options.retry)
    // Constructing the policy validates every field with the breaker's own messages.
    retry({ ...retryOptions, clock: systemClock })
    policies.retry = retryOptions
  }
  if (options.timeout !== undefined) {
    policies.timeout = expectDuration(`steps.${name}.timeout`, options.timeout, { positive: true })
  }
  if (options.policy !== undefined) {
    const policy = options.policy as unknown
    if (typeof policy !== 'object' || policy === null || typeof (policy as StepPolicy).execute !== 'function') {
      throw new ValidationError(
        `steps.${name}.policy`,
        'a policy from bulwark/breaker (an object with execute)',
        policy,
      )
    }
    policies.policy = options.policy
  }
  return policies
}

/** The step's pipeline on `clock`, or null when the step has no policy (its action is called directly). */
export function buildExecutor(policies: StepPolicies, clock: Clock): StepExecutor | null {
  const inner: Policy<unknown>[] = []
  if (policies.policy) inner.push(policies.policy as Policy<unknown>)
  if (policies.timeout !== undefined) inner.push(timeout(policies.timeout, { clock }))
  if (policies.retry) {
    const retrying = retry({ ...policies.retry, clock })
    // A layer between the retry and the rest, per run (it counts that run's calls): each call after the first
    // is recorded before it is made, so its attempt number survives a restart. It sits outside the breaker and
    // the timeout, so the append is neither counted as the step's outcome nor timed as its call.
    return (fn, signal, beforeRetry) => {
      let calls = 0
      const record: Policy<unknown> = {
        async execute(next, s) {
          if (calls++ > 0) await beforeRetry()
          return next({ signal: s ?? signal, attempt: calls })
        },
      }
      return wrap(retrying, record, ...inner).execute(fn, signal)
    }
  }
  if (inner.length === 0) return null
  const pipeline = inner.length === 1 ? inner[0]! : wrap(...inner)
  return (fn, signal) => pipeline.execute(fn, signal)
}
