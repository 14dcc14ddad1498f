/**
 * Every error Bulwark throws is a {@link BulwarkError} with a stable string `code`.
 *
 * Codes are part of the public API: match on them with {@link isBulwarkError}, never on messages.
 */
export type BulwarkErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_INVALID_ARGUMENT'
  | 'E_INVALID_KEY'
  | 'E_TIMEOUT'
  | 'E_ABORTED'
  | 'E_CIRCUIT_OPEN'
  | 'E_CIRCUIT_ISOLATED'
  | 'E_THROTTLED'
  | 'E_BULKHEAD_REJECTED'
  | 'E_RETRY_BUDGET_EXHAUSTED'
  | 'E_CACHE_L2'
  | 'E_CACHE_BUS'
  | 'E_SERIALIZATION'
  | 'E_WRONG_EXPECTED_VERSION'
  | 'E_INVALID_EVENT'
  | 'E_DUPLICATE_EVENT_ID'
  | 'E_UPCAST_FAILED'
  | 'E_STORE_UNAVAILABLE'
  | 'E_STORE_CLOSED'
  | 'E_REPLICA_SET_REQUIRED'
  | 'E_SAGA_DEFINITION'
  | 'E_SAGA_NOT_FOUND'
  | 'E_SAGA_STATE'
  | 'E_SAGA_LEASE_LOST'
  | 'E_SAGA_DEADLINE'
  | 'E_CRASH_POINT'
  | 'E_MISSING_PEER'

/** Options accepted by the {@link BulwarkError} constructor. */
export interface BulwarkErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown
  /** Extra context a caller needs to act on the error (a key, versions, a state...). */
  context?: Record<string, unknown>
  /**
   * Skip capturing a stack trace. Used on hot paths (an open circuit rejecting a call) where the
   * stack costs more than the call and says nothing useful.
   * @default false
   */
  noStack?: boolean
}

/**
 * Base class of every error Bulwark throws.
 *
 * @example
 * ```ts
 * try {
 *   await breaker.execute(() => fetchUser(id))
 * } catch (e) {
 *   if (isBulwarkError(e, 'E_CIRCUIT_OPEN')) return cachedUser
 *   throw e
 * }
 * ```
 */
export class BulwarkError extends Error {
  /** Marker checked by {@link isBulwarkError}, so the guard works across two installed copies. */
  readonly isBulwarkError = true as const
  readonly code: BulwarkErrorCode
  readonly context: Readonly<Record<string, unknown>>

  constructor(code: BulwarkErrorCode, message: string, options: BulwarkErrorOptions = {}) {
    if (options.noStack) {
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 0
      super(message, options.cause === undefined ? undefined : { cause: options.cause })
      Error.stackTraceLimit = limit
    } else {
      super(message, options.cause === undefined ? undefined : { cause: options.cause })
    }
    this.name = new.target.name
    this.code = code
    this.context = options.context ?? {}
  }
}

/**
 * Tells whether `value` is a Bulwark error, optionally with the given `code`.
 *
 * It checks the shape rather than `instanceof`, so errors from another installed copy of Bulwark
 * (two versions in one dependency tree) are recognised too.
 *
 * @example
 * ```ts
 * if (isBulwarkError(e, 'E_WRONG_EXPECTED_VERSION')) retryCommand()
 * ```
 */
export function isBulwarkError(value: unknown, code?: BulwarkErrorCode): value is BulwarkError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { isBulwarkError?: unknown; code?: unknown }
  if (candidate.isBulwarkError !== true || typeof candidate.code !== 'string') return false
  return code === undefined || candidate.code === code
}

// Error constructors take what they always need positionally (at most three values) and everything
// optional in one options object last, so a call never passes `undefined` to reach a later argument.

/** Options of {@link ValidationError}. */
export interface ValidationErrorOptions {
  /** `E_INVALID_ARGUMENT` for a method's argument, `E_INVALID_KEY`... @default 'E_INVALID_OPTION' */
  code?: BulwarkErrorCode
}

/**
 * Thrown when an option or argument fails validation. `context.name` is the option's name.
 *
 * @example
 * ```ts
 * throw new ValidationError('ttl', 'a duration > 0', 0) // Expected `ttl` to be a duration > 0, got 0
 * throw new ValidationError('id', 'a non-empty string', '', { code: 'E_INVALID_ARGUMENT' })
 * ```
 */
export class ValidationError extends BulwarkError {
  constructor(name: string, expected: string, received: unknown, options: ValidationErrorOptions = {}) {
    super(options.code ?? 'E_INVALID_OPTION', `Expected \`${name}\` to be ${expected}, got ${describe(received)}`, {
      context: { name, received },
    })
  }
}

/**
 * Thrown when an operation runs past its deadline.
 *
 * @example
 * ```ts
 * new TimeoutError('The call timed out after 2000 ms', { context: { timeout: 2000 } })
 * ```
 */
export class TimeoutError extends BulwarkError {
  constructor(message: string, options: BulwarkErrorOptions = {}) {
    super('E_TIMEOUT', message, options)
  }
}

/** Options of {@link AbortedError}. */
export interface AbortedErrorOptions {
  /** @default 'The operation was aborted' */
  message?: string
  /** The signal's reason, when it was not an error of ours. */
  cause?: unknown
}

/**
 * Thrown when an operation is cancelled through its `AbortSignal`.
 *
 * @example
 * ```ts
 * new AbortedError({ cause: signal.reason })
 * ```
 */
export class AbortedError extends BulwarkError {
  constructor(options: AbortedErrorOptions = {}) {
    super('E_ABORTED', options.message ?? 'The operation was aborted', { cause: options.cause })
  }
}

/** Renders a received value for an error message: short, and never throws. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
}
