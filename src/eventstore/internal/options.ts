import type { Clock } from '../../core/clock.js'
import { ValidationError } from '../../core/errors.js'
import { optionalClock } from '../../core/validate.js'
import type { EventStoreOptions } from '../types.js'
import { isPlainObject } from './json.js'
import { makeUpcast, type UpcastFn } from './upcast.js'

/** What every adapter takes from {@link EventStoreOptions}, validated once at construction. */
export interface ResolvedStoreOptions {
  clock: Clock
  upcast: UpcastFn
}

/** Validates the options every adapter shares (`clock`, `upcasters`) and applies their defaults. */
export function resolveStoreOptions(options: EventStoreOptions | undefined): ResolvedStoreOptions {
  if (options !== undefined && !isPlainObject(options))
    throw new ValidationError('options', 'an options object', options)
  const { upcasters }: EventStoreOptions = options ?? {}
  const clock = optionalClock('clock', options?.clock)
  if (upcasters !== undefined && !isPlainObject(upcasters))
    throw new ValidationError('upcasters', 'upcasters built with upcasters({...})', upcasters)
  return { clock, upcast: makeUpcast(upcasters) }
}
