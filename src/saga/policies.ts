/**
 * A step's `retry`, `timeout` and `policy` become one `bulwark/breaker` pipeline: retry outermost, then
 * the step's own policy (typically a shared circuit breaker), then the timeout of each attempt. So an open
 * breaker fails the step at once (retry never retries into it) and every attempt gets its own time limit.
 */

import { type Policy, type RetryOptions, retry, timeout, wrap } from '../breaker/index.js'
import type { Clock } from '../core/clock.js'
import { systemClock } from '../core/clock.js'
import { parseDuration } from '../core/duration.js'
import { ValidationError } from '../core/errors.js'
import { expectOptions } from '../core/validate.js'
import type { StepOptions, StepPolicy } from './types.js'

/** Runs a step's action under its policies. */
export type StepExecutor = (
  fn: (context: { signal: AbortSignal; attempt: number }) => unknown,
  signal: AbortSignal,
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
    const ms = parseDuration(options.timeout, `steps.${name}.timeout`)
    if (ms <= 0) throw new ValidationError(`steps.${name}.timeout`, 'a duration > 0', options.timeout)
    policies.timeout = ms
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
  const chain: Policy<unknown>[] = []
  if (policies.retry) chain.push(retry({ ...policies.retry, clock }))
  if (policies.policy) chain.push(policies.policy as Policy<unknown>)
  if (policies.timeout !== undefined) chain.push(timeout(policies.timeout, { clock }))
  if (chain.length === 0) return null
  const pipeline = chain.length === 1 ? chain[0]! : wrap(...chain)
  return (fn, signal) => pipeline.execute(fn, signal)
}
