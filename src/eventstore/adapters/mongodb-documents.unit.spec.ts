import { describe, expect, it } from 'vitest'
import { mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { fakeClock } from '../../testing/fake-clock.js'
import { prepareAppend } from '../internal/index.js'
import {
  documentToEvent,
  documentToSnapshot,
  type EventDocument,
  eventDocuments,
  readAllFilter,
  type SnapshotDocument,
  snapshotDocument,
} from './mongodb-documents.js'

const clock = fakeClock(Date.UTC(2026, 4, 1))

// What the server would hand back: the documents through each supported driver's real BSON serializer.
describe.each(mongoDrivers)('mongodb documents through the BSON of $name', ({ bson }) => {
  const throughBson = <T extends object>(doc: T): T =>
    bson.deserialize(bson.serialize(doc as Record<string, unknown>)) as T
  const append = prepareAppend(
    'order-7',
    [
      {
        id: '3e1d6a9b-7c2f-4b8e-9d0a-1f2e3d4c5b6a',
        type: 'OrderPlaced',
        data: { total: 42.5, count: 3, big: 2 ** 40, lines: [{ sku: 'a', qty: 2 }], note: null, ok: true, empty: {} },
        metadata: { correlationId: 'c-1', tenant: 'acme' },
      },
      { type: 'OrderPaid', data: [1, 'two', [3]] },
      { type: 'Noted', data: 'just a string' },
    ],
    undefined,
    clock,
  )

  it('gives each event of a batch consecutive versions and positions, one document per event', () => {
    const docs = eventDocuments(append.streamId, append.events, 5, 101, append.recordedAt)
    expect(docs.map((d) => [d._id, d.streamVersion, d.type])).toEqual([
      [101, 5, 'OrderPlaced'],
      [102, 6, 'OrderPaid'],
      [103, 7, 'Noted'],
    ])
    expect(docs.every((d) => d.streamId === 'order-7' && d.recordedAt === append.recordedAt)).toBe(true)
    expect(docs[0]?.eventId).toBe('3e1d6a9b-7c2f-4b8e-9d0a-1f2e3d4c5b6a')
    expect(docs[1]?.eventId).toBe(append.events[1]?.id)
  })

  it('reads back through BSON exactly the event that was appended', () => {
    const docs = eventDocuments(append.streamId, append.events, 1, 1, append.recordedAt)
    const events = docs.map((d) => documentToEvent(throughBson(d)))
    expect(events).toEqual(
      append.events.map((e, i) => ({
        id: e.id,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        streamId: 'order-7',
        streamVersion: i + 1,
        globalPosition: i + 1,
        recordedAt: new Date(Date.UTC(2026, 4, 1)),
      })),
    )
    expect(events[0]?.metadata).toEqual({
      correlationId: 'c-1',
      tenant: 'acme',
      schemaVersion: 1,
      occurredAt: '2026-05-01T00:00:00.000Z',
    })
  })

  it('turns positions and versions stored as 64-bit integers back into numbers', () => {
    const doc = throughBson({
      ...(eventDocuments(append.streamId, append.events, 1, 1, append.recordedAt)[0] as EventDocument),
      _id: bson.Long.fromNumber(2 ** 33) as unknown as number,
      streamVersion: bson.Long.fromNumber(7) as unknown as number,
    })
    const event = documentToEvent(doc)
    expect(event.globalPosition).toBe(2 ** 33)
    expect(event.streamVersion).toBe(7)
  })

  it('maps snapshots to documents keyed by stream and back', () => {
    const snapshot = { streamId: 'order-7', streamVersion: 10, state: { total: 1, tags: ['a'] }, schemaVersion: 2 }
    const doc = snapshotDocument(snapshot)
    expect(doc._id).toBe('order-7')
    expect(documentToSnapshot(throughBson(doc) as SnapshotDocument)).toEqual(snapshot)
  })

  it('filters readAll by position, types and a half-open time range', () => {
    const from = new Date(Date.UTC(2026, 0, 1))
    const to = new Date(Date.UTC(2026, 1, 1))
    expect(readAllFilter({ after: 0, types: undefined, recordedFrom: undefined, recordedTo: undefined })).toEqual({
      _id: { $gt: 0 },
    })
    expect(readAllFilter({ after: 9, types: ['A', 'B'], recordedFrom: from, recordedTo: to })).toEqual({
      _id: { $gt: 9 },
      type: { $in: ['A', 'B'] },
      recordedAt: { $gte: from, $lt: to },
    })
    expect(readAllFilter({ after: 0, types: undefined, recordedFrom: undefined, recordedTo: to })).toEqual({
      _id: { $gt: 0 },
      recordedAt: { $lt: to },
    })
  })
})
