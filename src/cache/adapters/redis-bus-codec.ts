/**
 * Wire format of bus messages: a JSON array with a one-letter type, about half the bytes of the
 * object form, and decoded into fresh objects field by field (a `__proto__` key cannot get through).
 *
 * ```
 * ["<source>","s",[keys],[versions]]   set
 * ["<source>","d",[keys]]              delete
 * ["<source>","t","<prefix>",[tags]]   deleteByTags
 * ["<source>","c","<prefix>"]          clear
 * ```
 */
import type { BusMessage } from '../types.js'

/** The last source encoded, as JSON: a bus publishes for one or a few caches, so it is nearly always this. */
let lastSource: string | undefined
let lastSourceJson = ''

function sourceJson(source: string): string {
  if (source !== lastSource) {
    lastSourceJson = JSON.stringify(source)
    lastSource = source
  }
  return lastSourceJson
}

export function encodeMessage(message: BusMessage): string {
  switch (message.type) {
    case 'set':
      // Every `cache.set`: the same text as JSON.stringify of the array, without encoding the source again.
      return `[${sourceJson(message.source)},"s",${JSON.stringify(message.keys)},${JSON.stringify(message.versions)}]`
    case 'delete':
      return JSON.stringify([message.source, 'd', message.keys])
    case 'deleteByTags':
      return JSON.stringify([message.source, 't', message.prefix, message.tags])
    case 'clear':
      return JSON.stringify([message.source, 'c', message.prefix])
  }
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string')
const isNumbers = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'number')

/** Decodes a message; anything malformed (another publisher on the channel) yields `undefined`. */
export function decodeMessage(raw: string): BusMessage | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return undefined
  const [source, type, a, b] = parsed as [string, unknown, unknown, unknown]
  if (type === 's' && isStrings(a) && isNumbers(b) && a.length === b.length) {
    return { source, type: 'set', keys: a, versions: b }
  }
  if (type === 'd' && isStrings(a)) return { source, type: 'delete', keys: a }
  if (type === 't' && typeof a === 'string' && isStrings(b)) return { source, type: 'deleteByTags', prefix: a, tags: b }
  if (type === 'c' && typeof a === 'string') return { source, type: 'clear', prefix: a }
  return undefined
}
