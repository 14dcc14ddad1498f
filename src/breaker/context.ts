import type { PolicyContext } from './types.js'

/** A signal that never aborts, for calls made without one: every context carries a real signal. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal

/** The context of a first attempt without a caller signal: shared and frozen, so it costs no allocation. */
export const IDLE_CONTEXT: PolicyContext = Object.freeze({ signal: NEVER_ABORTED, attempt: 0 })

/** The context for `signal` and `attempt`, reusing {@link IDLE_CONTEXT} when it fits. */
export function contextFor(signal: AbortSignal | undefined, attempt = 0): PolicyContext {
  return signal === undefined && attempt === 0 ? IDLE_CONTEXT : { signal: signal ?? NEVER_ABORTED, attempt }
}

/**
 * Makes `controller` abort when `parent` does, and returns a function that undoes the link. Used instead of
 * `AbortSignal.any` so a long-lived parent signal (one per request, shared by many calls) does not
 * accumulate listeners or dependent signals: every link is removed when its call settles.
 */
export function linkSignal(parent: AbortSignal | undefined, controller: AbortController): () => void {
  if (parent === undefined) return noop
  const onAbort = () => controller.abort(parent.reason)
  parent.addEventListener('abort', onAbort, { once: true })
  return () => parent.removeEventListener('abort', onAbort)
}

function noop(): void {}

/** Calls `fn` and turns a synchronous throw into a rejected promise. */
export function invoke<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, context: PolicyContext): Promise<T> {
  try {
    return Promise.resolve(fn(context))
  } catch (error) {
    return Promise.reject(error)
  }
}
