import type { PolicyContext } from './types.js'

/**
 * A signal that never aborts, for calls made without one: every context carries a real signal. It is
 * shared by every such call, so it keeps no listeners: code that adds an abort listener and never removes
 * it (common, and harmless on a per-request signal) would otherwise grow it without bound. Dropping them
 * changes nothing a listener could observe, since this signal never fires.
 */
export const NEVER_ABORTED: AbortSignal = neverAborted()

function neverAborted(): AbortSignal {
  const signal = new AbortController().signal
  const ignore = { value: () => {}, writable: false, enumerable: false, configurable: false }
  Object.defineProperties(signal, {
    addEventListener: ignore,
    onabort: { get: () => null, set: () => {}, enumerable: false, configurable: false },
  })
  return signal
}

/** The context of a first attempt without a caller signal: shared and frozen, so it costs no allocation. */
export const IDLE_CONTEXT: PolicyContext = Object.freeze({ signal: NEVER_ABORTED, attempt: 1 })

/** The context for `signal` and `attempt` (1 for the first call), reusing {@link IDLE_CONTEXT} when it fits. */
export function contextFor(signal: AbortSignal | undefined, attempt = 1): PolicyContext {
  return signal === undefined && attempt === 1 ? IDLE_CONTEXT : { signal: signal ?? NEVER_ABORTED, attempt }
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
