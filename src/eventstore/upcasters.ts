import { ValidationError } from '../core/errors.js'
import { isPlainObject } from './internal/json.js'
import type { JsonValue, RecordedEvent, Upcasters } from './types.js'

/** One upcasting step: data of schema version `n` in, data of version `n + 1` out. */
// biome-ignore lint/suspicious/noExplicitAny: each step declares the shape it reads; the store cannot know it
export type UpcastStep = (data: any, event: RecordedEvent) => JsonValue

/** Upcasting steps by event type, then by the schema version each step upgrades *from*. */
export type UpcasterDefinitions = Record<string, Record<number, UpcastStep>>

/**
 * Declares upcasters: pass the result as the `upcasters` option of any event store. On every read, an
 * event of schema version `n` (its `metadata.schemaVersion`, 1 when it was appended without one) goes
 * through step `n`, then `n + 1`, ... up to the newest; it is read with the version it reached. Stored
 * events never change. Append new events with `metadata.schemaVersion` set to the newest version.
 *
 * Steps of one type must be numbered without gaps (an event would otherwise stop at the gap).
 *
 * @example
 * ```ts
 * const store = memoryEventStore({
 *   upcasters: upcasters({
 *     OrderPlaced: {
 *       1: (data: { total: number }) => ({ amount: data.total, currency: 'EUR' }),
 *       2: (data: { amount: number; currency: string }) => ({ ...data, lines: [] }),
 *     },
 *   }),
 * })
 * ```
 */
export function upcasters(definitions: UpcasterDefinitions): Upcasters {
  if (!isPlainObject(definitions))
    throw new ValidationError('upcasters', 'an object of event types to steps', definitions)
  const result: Record<string, Record<number, UpcastStep>> = {}
  for (const [type, steps] of Object.entries(definitions)) {
    if (!isPlainObject(steps))
      throw new ValidationError(`upcasters.${type}`, 'an object of schema versions to functions', steps)
    const versions = Object.keys(steps).map(Number)
    if (versions.length === 0) throw new ValidationError(`upcasters.${type}`, 'at least one step', steps)
    for (const v of versions) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new ValidationError(`upcasters.${type}`, 'schema versions that are integers >= 1', String(v))
      if (typeof steps[v] !== 'function')
        throw new ValidationError(`upcasters.${type}.${v}`, 'a function (data, event) => data', steps[v])
    }
    const min = Math.min(...versions)
    const max = Math.max(...versions)
    if (max - min + 1 !== versions.length)
      throw new ValidationError(`upcasters.${type}`, 'consecutive schema versions', versions.join(', '))
    result[type] = Object.freeze({ ...steps })
  }
  return Object.freeze(result)
}
