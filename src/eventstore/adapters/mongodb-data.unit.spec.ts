/**
 * What MongoDB's BSON does not give back as written, shown with each supported driver's own serializer
 * (7.x with bson 7, 6.8 with bson 6; no server needed), and the store refusing it before anything is sent.
 */
import { describe, expect, it } from 'vitest'
import { mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { isBulwarkError } from '../../core/errors.js'
import { fakeClock } from '../../testing/fake-clock.js'
import { prepareAppend, prepareSnapshot } from '../internal/index.js'
import { checkDocumentSize, largestEventDocuments, MAX_DOCUMENT_BYTES } from './mongodb-documents.js'

const clock = fakeClock(Date.UTC(2026, 4, 1))

function refusal(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

describe.each(mongoDrivers)('$name', (driver) => {
  const { bson } = driver
  const roundTrip = (doc: Record<string, unknown>) => bson.deserialize(bson.serialize(doc))

  describe.each([
    ['an object with $ref and $id', { link: { $ref: 'orders', $id: 7 } }],
    ['a $ref, $id and $db', { link: { $ref: 'orders', $id: 'x', $db: 'shop' } }],
    ['a lone surrogate', { name: 'acct-\ud83d' }],
    ['a lone surrogate in a key', { 'k\udc00': 1 }],
  ])('%s', (_label, data) => {
    it('does not come back from BSON as written (the premise)', () => {
      expect(roundTrip({ data })).not.toEqual({ data })
    })

    it('is refused by every store before writing: E_INVALID_EVENT in events, E_INVALID_ARGUMENT in snapshots', () => {
      expect(
        isBulwarkError(
          refusal(() => prepareAppend('s', [{ type: 'A', data }], undefined, clock)),
          'E_INVALID_EVENT',
        ),
      ).toBe(true)
      expect(
        isBulwarkError(
          refusal(() => prepareAppend('s', [{ type: 'A', data: 1, metadata: data }], undefined, clock)),
          'E_INVALID_EVENT',
        ),
      ).toBe(true)
      const snapshot = { streamId: 's', streamVersion: 1, state: data, schemaVersion: 1 }
      expect(
        isBulwarkError(
          refusal(() => prepareSnapshot(snapshot)),
          'E_INVALID_ARGUMENT',
        ),
      ).toBe(true)
    })
  })

  describe('a NUL in a key', () => {
    const data = { 'a\u0000b': 1 }
    it('makes BSON throw a raw BSONError (the premise)', () => {
      expect(() => bson.serialize({ data })).toThrow(bson.BSONError)
    })
    it('is refused with E_INVALID_EVENT before writing', () => {
      expect(
        isBulwarkError(
          refusal(() => prepareAppend('s', [{ type: 'A', data }], undefined, clock)),
          'E_INVALID_EVENT',
        ),
      ).toBe(true)
    })
  })

  describe('what BSON gives back exactly', () => {
    it('keeps $ keys, dotted keys, a lone $ref, whole emoji and U+FFFD', () => {
      const data = { $set: { 'a.b': 1 }, $ref: 'just a ref', text: '🐻\ufffd', nested: [{ $id: 2 }] }
      const [event] = prepareAppend('s', [{ type: 'A', data }], undefined, clock).events
      expect(roundTrip({ data: event?.data }).data).toEqual(data)
    })
  })

  describe('16 MiB', () => {
    const size = (doc: object) => bson.calculateObjectSize(doc as Record<string, unknown>)
    const eventOf = (bytes: number) =>
      prepareAppend('s', [{ type: 'A', data: { blob: 'x'.repeat(bytes) } }], undefined, clock)

    it("is the server's maxBsonObjectSize, and a 17 MiB string makes a document over it (the premise)", () => {
      const big = largestEventDocuments('s', eventOf(17 * 1024 * 1024).events, new Date())[0] as object
      expect(size(big)).toBeGreaterThan(MAX_DOCUMENT_BYTES)
      expect(MAX_DOCUMENT_BYTES).toBe(16_777_216)
    })

    it('refuses an event over it with E_INVALID_EVENT naming the limit', () => {
      const append = eventOf(17 * 1024 * 1024)
      const [doc] = largestEventDocuments(append.streamId, append.events, append.recordedAt)
      const error = refusal(() => checkDocumentSize(doc as object, 'events[0]', 'E_INVALID_EVENT', size))
      expect(isBulwarkError(error, 'E_INVALID_EVENT')).toBe(true)
      expect((error as Error).message).toMatch(/^Expected `events\[0\]` to be at most 16777216 bytes \(16 MiB\)/)
    })

    it('accepts an event under it', () => {
      const append = eventOf(15 * 1024 * 1024)
      const [doc] = largestEventDocuments(append.streamId, append.events, append.recordedAt)
      expect(() => checkDocumentSize(doc as object, 'events[0]', 'E_INVALID_EVENT', size)).not.toThrow()
    })
  })
})
