import { BulwarkError, describe } from '../core/errors.js'

// C0 controls and DEL break logs, terminals and key patterns.
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

/** Throws a typed `E_INVALID_KEY` error unless `key` is a non-empty string of bounded length without control characters. */
export function validateKey(key: unknown, maxLength: number, name = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(name, 'a non-empty string', key)
  if (key.length > maxLength) throw invalidKey(name, `a string of at most ${maxLength} characters`, key)
  if (hasControlCharacter(key)) throw invalidKey(name, 'a string without control characters', key)
  return key
}

/** Validates every key of a batch and returns them. */
export function validateKeys(keys: unknown, maxLength: number): readonly string[] {
  if (!Array.isArray(keys)) throw invalidKey('keys', 'an array of keys', keys)
  for (let i = 0; i < keys.length; i++) validateKey(keys[i], maxLength, `keys[${i}]`)
  return keys as readonly string[]
}

/** Validates a tag list (the same rules as keys) and returns it. */
export function validateTags(tags: unknown, maxLength: number, name = 'tags'): readonly string[] {
  const list = typeof tags === 'string' ? [tags] : tags
  if (!Array.isArray(list)) throw invalidKey(name, 'a tag or an array of tags', tags)
  for (let i = 0; i < list.length; i++) validateKey(list[i], maxLength, `${name}[${i}]`)
  return list as readonly string[]
}

function invalidKey(name: string, expected: string, received: unknown): BulwarkError {
  return new BulwarkError('E_INVALID_KEY', `Expected \`${name}\` to be ${expected}, got ${describe(received)}`, {
    context: { name, key: received },
  })
}
