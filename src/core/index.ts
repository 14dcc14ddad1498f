// The root `bulwark` export: errors, durations (and the backoff shape built on them) and the clock port.
// Internal helpers (`TypedEmitter`, `anySignal`, `sleep`) stay importable only from inside the package.
export { throwIfAborted } from './abort.js'
export type { Backoff } from './backoff.js'
export type { Clock, TimerHandle } from './clock.js'
export { systemClock } from './clock.js'
export type { Duration, DurationUnit } from './duration.js'
export { parseDuration } from './duration.js'
export type { AbortedErrorOptions, BulwarkErrorCode, BulwarkErrorOptions, ValidationErrorOptions } from './errors.js'
export { AbortedError, BulwarkError, isBulwarkError, TimeoutError, ValidationError } from './errors.js'
