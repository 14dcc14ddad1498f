import type { BulwarkErrorCode } from '../../core/errors.js'
import { ValidationError } from '../../core/errors.js'
import type { JsonValue } from '../types.js'
import { isStorableText, STORABLE_TEXT } from './text.js'

const JSON_EXPECTED = 'JSON (null, a boolean, a finite number, a string, an array or a plain object)'

/**
 * Serializes `value` to JSON, or throws a {@link ValidationError} naming the exact path that is not
 * JSON (`events[2].data.lines[0].price`). `JSON.stringify` alone would silently turn NaN into null,
 * drop functions, stringify Dates and throw a raw TypeError on cycles and bigints: what is read back
 * must be what was written, so anything that would not round-trip is refused up front.
 *
 * Object properties whose value is `undefined` are allowed and dropped (as optional fields are in
 * TypeScript); `undefined` anywhere else (the value itself, an array slot) is refused.
 *
 * So is what some adapter could not give back: a string or key that is not {@link isStorableText}
 * (a lone surrogate, U+0000), and an object with a string `$ref` and an `$id`, which MongoDB's BSON
 * reader turns into a `DBRef`. Every adapter refuses them, so a value accepted by the memory store in
 * tests is accepted in production.
 */
export function toJson(value: unknown, name: string, code: BulwarkErrorCode = 'E_INVALID_EVENT'): string {
  return toJsonValue(value, name, code).json
}

/**
 * Like {@link toJson}, also returning the value as it will be read back: `value` itself, or a copy
 * without its `undefined` properties when it had some (so adapters that store objects, such as
 * MongoDB, store what the others store).
 */
export function toJsonValue(
  value: unknown,
  name: string,
  code: BulwarkErrorCode = 'E_INVALID_EVENT',
): { json: string; value: JsonValue } {
  const exact = checkJson(value, name, code, [])
  const json = JSON.stringify(value)
  // JSON.stringify escapes U+0000 and lone surrogates as \uXXXX and keeps everything else (but
  // other control characters) as is, so without a `\u` or a `"$ref"` in the text there is nothing
  // to look for: the common case costs two scans of the text, and no walk.
  if (json.includes('\\u') || json.includes('"$ref"')) checkStorable(value, name, code)
  return { json, value: exact ? (value as JsonValue) : (JSON.parse(json) as JsonValue) }
}

/** Throws unless `value` is JSON; returns false when it holds `undefined` properties that JSON drops. */
function checkJson(value: unknown, path: string, code: BulwarkErrorCode, ancestors: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      if (Number.isFinite(value)) return true
      throw new ValidationError(path, `${JSON_EXPECTED}; NaN and Infinity are not JSON`, value, { code })
    case 'object':
      if (value === null) return true
      break
    default:
      throw new ValidationError(path, JSON_EXPECTED, value, { code })
  }
  const object = value as object
  // Depth is small in practice, so a linear scan of the ancestors beats a Set's allocation.
  if (ancestors.includes(object))
    throw new ValidationError(path, `${JSON_EXPECTED} without cycles`, 'a cycle', { code })
  ancestors.push(object)
  let exact = true
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      // A hole or an undefined slot would come back as null.
      if (object[i] === undefined) throw new ValidationError(`${path}[${i}]`, JSON_EXPECTED, undefined, { code })
      exact = checkJson(object[i], `${path}[${i}]`, code, ancestors) && exact
    }
  } else {
    const proto = Object.getPrototypeOf(object)
    if (proto !== Object.prototype && proto !== null)
      throw new ValidationError(path, `${JSON_EXPECTED}; convert class instances such as Date first`, object, { code })
    for (const [key, child] of Object.entries(object)) {
      if (child === undefined) exact = false
      else exact = checkJson(child, `${path}.${key}`, code, ancestors) && exact
    }
  }
  ancestors.pop()
  return exact
}

/** Throws naming the first string, key or `{ $ref, $id }` object of `value` that an adapter could not give back. */
function checkStorable(value: unknown, path: string, code: BulwarkErrorCode): void {
  if (typeof value === 'string') {
    if (!isStorableText(value)) throw new ValidationError(path, `a string of ${STORABLE_TEXT}`, value, { code })
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkStorable(value[i], `${path}[${i}]`, code)
    return
  }
  if (isDbRefShaped(value as Record<string, unknown>))
    throw new ValidationError(
      path,
      'an object MongoDB reads back as written; one with a string `$ref` and an `$id` comes back as a DBRef (rename either key)',
      value,
      { code },
    )
  for (const [key, child] of Object.entries(value)) {
    if (!isStorableText(key))
      throw new ValidationError(path, `an object whose keys are ${STORABLE_TEXT}`, key, { code })
    if (child !== undefined) checkStorable(child, `${path}.${key}`, code)
  }
}

/** bson's own test (`isDBRefLike`) for the documents its reader turns into a `DBRef`. */
function isDbRefShaped(object: Record<string, unknown>): boolean {
  return (
    typeof object.$ref === 'string' &&
    object.$id !== undefined &&
    object.$id !== null &&
    (!('$db' in object) || typeof object.$db === 'string')
  )
}

/** Whether `value` is a plain object (not null, not an array, not a class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
