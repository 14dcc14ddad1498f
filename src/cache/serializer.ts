import { BulwarkError } from '../core/errors.js'
import type { Serializer } from './types.js'

/**
 * Drops the keys through which a parsed payload could reach a prototype when user code later merges
 * it into another object: `__proto__`, and a `constructor` whose value carries a `prototype`.
 * JSON.parse itself only creates own properties, but a deep merge of `{"__proto__": {...}}` pollutes.
 */
function safeReviver(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value) return undefined
  return value
}

/**
 * Whether a JSON text could contain a dangerous key. `\u` escapes can spell `__proto__` without the
 * letters appearing in the text, so they take the slow path too (JSON.stringify emits them only for
 * control characters and lone surrogates, so this stays rare).
 */
function mayBeDangerous(raw: string): boolean {
  return raw.indexOf('proto') !== -1 || raw.indexOf('\\u') !== -1
}

/**
 * The default serializer: JSON, hardened against prototype pollution. Payloads that cannot contain a
 * dangerous key are parsed without a reviver, so the common case costs a plain `JSON.parse`.
 *
 * @example
 * ```ts
 * const value = jsonSerializer.deserialize('{"__proto__":{"admin":true},"a":1}') // { a: 1 }
 * ```
 */
export const jsonSerializer: Serializer = {
  serialize(value: unknown): string {
    const text = JSON.stringify(value)
    if (text === undefined) {
      throw new BulwarkError('E_SERIALIZATION', `Cannot serialize a value of type ${typeof value} as JSON`)
    }
    return text
  },
  deserialize(raw: string): unknown {
    return mayBeDangerous(raw) ? JSON.parse(raw, safeReviver) : JSON.parse(raw)
  },
}
