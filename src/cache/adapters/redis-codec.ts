/**
 * How one {@link L2Entry} is stored in one Redis string: a compact header line, then the value as is.
 *
 * ```
 * <version>:<expiresAt>:<staleUntil>[:<tags as a JSON array>]\n<serialized value>
 * ```
 *
 * One string means one MGET reads any number of entries in one round trip, and the header costs a few
 * dozen bytes and one `indexOf` to read (no second parse of the value, which the cache deserializes).
 */
import type { L2Entry } from '../types.js'

export function encodeEntry(entry: L2Entry): string {
  const tags = entry.tags && entry.tags.length > 0 ? `:${JSON.stringify(entry.tags)}` : ''
  return `${entry.version}:${entry.expiresAt}:${entry.staleUntil}${tags}\n${entry.value}`
}

/** Decodes a stored string; anything that is not a Bulwark entry reads as absent. */
export function decodeEntry(raw: string): L2Entry | undefined {
  const end = raw.indexOf('\n')
  if (end < 0) return undefined
  const first = raw.indexOf(':')
  const second = raw.indexOf(':', first + 1)
  if (first < 0 || second < 0 || second > end) return undefined
  const third = raw.indexOf(':', second + 1)
  const headerEnd = third >= 0 && third < end ? third : end
  const version = headerNumber(raw, 0, first)
  const expiresAt = headerNumber(raw, first + 1, second)
  const staleUntil = headerNumber(raw, second + 1, headerEnd)
  if (Number.isNaN(version) || Number.isNaN(expiresAt) || Number.isNaN(staleUntil)) return undefined
  const entry: L2Entry = { value: raw.slice(end + 1), version, expiresAt, staleUntil }
  if (headerEnd < end) {
    const tags = parseTags(raw.slice(headerEnd + 1, end))
    if (!tags) return undefined
    entry.tags = tags
  }
  return entry
}

/**
 * `Number(raw.slice(from, to))`, read in place when it is a run of digits that fits a safe integer (the
 * header of every entry the cache writes: ms times and µs-sized versions), which spares a string and a
 * general number parse on every L2 hit.
 */
function headerNumber(raw: string, from: number, to: number): number {
  if (to > from && to - from <= 16) {
    let n = 0
    for (let i = from; i < to; i++) {
      const digit = raw.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) return Number(raw.slice(from, to))
      n = n * 10 + digit
    }
    // Exact while below 2^53; a larger value is rounded the way `Number` would round it.
    if (n <= Number.MAX_SAFE_INTEGER) return n
  }
  return Number(raw.slice(from, to))
}

function parseTags(json: string): string[] | undefined {
  try {
    const tags: unknown = JSON.parse(json)
    return Array.isArray(tags) && tags.every((t) => typeof t === 'string') ? tags : undefined
  } catch {
    return undefined
  }
}

/** Escapes Redis glob characters so a prefix matches only itself in `SCAN MATCH`. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
