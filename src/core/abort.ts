import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import { AbortedError } from './errors.js'

/** Throws an {@link AbortedError} (carrying the signal's reason as `cause`) if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw toAbortedError(signal)
}

/** The error to reject with when `signal` aborts: its reason if that is already a Bulwark error. */
export function toAbortedError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && (reason as { isBulwarkError?: unknown }).isBulwarkError === true) return reason
  return new AbortedError({ cause: reason })
}

/**
 * Waits `ms` milliseconds on `clock`, or rejects with an {@link AbortedError} as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * await sleep(backoff, { signal, clock })
 * ```
 */
export function sleep(ms: number, options: { signal?: AbortSignal; clock?: Clock } = {}): Promise<void> {
  const { signal, clock = systemClock } = options
  if (signal?.aborted) return Promise.reject(toAbortedError(signal))
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle)
      reject(toAbortedError(signal as AbortSignal))
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A signal that aborts when any of `signals` aborts. `undefined` entries are ignored; with a single
 * signal it is returned as is (no allocation).
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined)
  if (present.length <= 1) return present[0]
  return AbortSignal.any(present)
}
