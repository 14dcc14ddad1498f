/**
 * Which strings every adapter can store and read back unchanged.
 *
 * A lone surrogate (half of an emoji, as a string cut at a fixed length leaves it) has no UTF-8 form:
 * SQLite and MongoDB store U+FFFD in its place, so two different stream ids can read back as one, and
 * PostgreSQL refuses it. U+0000 cannot be held by PostgreSQL's `text` and `jsonb`, nor by a BSON key.
 * The memory store could keep both, but a value must be accepted or refused whatever the store, so
 * every adapter refuses them before anything is written.
 */

// Node 20 has String.prototype.isWellFormed; the ES2023 lib this package compiles against does not type it.
type WithWellFormed = string & { isWellFormed(): boolean }

/** Whether `value` is well-formed UTF-16 (no lone surrogate). */
export function isWellFormed(value: string): boolean {
  return (value as WithWellFormed).isWellFormed()
}

/** Whether every adapter stores `value` as written: well-formed, and without U+0000. */
export function isStorableText(value: string): boolean {
  return isWellFormed(value) && !value.includes('\u0000')
}

/** What {@link isStorableText} requires, as error messages say it. */
export const STORABLE_TEXT = 'well-formed Unicode without U+0000 (no lone surrogate, such as half of an emoji)'
