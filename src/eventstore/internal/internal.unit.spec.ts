import { describe, expect, it } from 'vitest'
import { isBulwarkError } from '../../core/errors.js'
import { fakeClock } from '../../testing/fake-clock.js'
import { DuplicateEventIdError, WrongExpectedVersionError } from '../errors.js'
import type { RecordedEvent } from '../types.js'
import { checkExpectedVersion, findIdempotentResult } from './append-rules.js'
import { prepareAppend } from './prepare.js'
import { makeUpcast } from './upcast.js'

const clock = fakeClock(Date.UTC(2026, 0, 1))
const ID = '7d444840-9dc0-11d1-b245-5ffdce74fad2'

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return isBulwarkError(e) ? String(e.code) : 'not a BulwarkError'
  }
  return undefined
}

describe('prepareAppend', () => {
  it('fills in id, schemaVersion and occurredAt from the clock', () => {
    const { events, recordedAt } = prepareAppend('s', [{ type: 'A', data: { x: 1 } }], undefined, clock)
    expect(events[0]?.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(events[0]?.idGiven).toBe(false)
    expect(events[0]?.metadata).toEqual({ schemaVersion: 1, occurredAt: '2026-01-01T00:00:00.000Z' })
    expect(recordedAt.getTime()).toBe(clock.now())
  })

  it('keeps given metadata and drops undefined properties', () => {
    const { events } = prepareAppend(
      's',
      [
        {
          id: ID,
          type: 'A',
          data: { a: undefined, b: [1] } as never,
          metadata: { correlationId: 'c', schemaVersion: 3 },
        },
      ],
      { expectedVersion: 0 },
      clock,
    )
    expect(events[0]?.dataJson).toBe('{"b":[1]}')
    expect(events[0]?.data).toEqual({ b: [1] })
    expect(Object.keys(events[0]?.data as object)).toEqual(['b'])
    expect(events[0]?.metadata.correlationId).toBe('c')
    expect(events[0]?.metadata.schemaVersion).toBe(3)
  })

  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  it.each([
    ['a function', () => 1],
    ['a bigint', 1n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['undefined', undefined],
    ['a cycle', cyclic],
    ['a Date', new Date()],
    ['a nested NaN', { lines: [{ price: Number.NaN }] }],
    ['an undefined array slot', [1, undefined]],
  ])('refuses %s as data with E_INVALID_EVENT', (_label, data) => {
    expect(code(() => prepareAppend('s', [{ type: 'A', data: data as never }], undefined, clock))).toBe(
      'E_INVALID_EVENT',
    )
  })

  it('names the path of the bad value', () => {
    expect(() =>
      prepareAppend(
        's',
        [
          { type: 'A', data: 1 },
          { type: 'B', data: { lines: [{ p: Number.NaN }] } },
        ],
        {},
        clock,
      ),
    ).toThrowError(/events\[1\]\.data\.lines\[0\]\.p/)
  })

  it.each([
    ['an empty stream id', '', [{ type: 'A', data: 1 }], {}],
    ['an oversized stream id', 'x'.repeat(257), [{ type: 'A', data: 1 }], {}],
    ['a control character', 'a\nb', [{ type: 'A', data: 1 }], {}],
    ['no events', 's', [], {}],
    ['a negative version', 's', [{ type: 'A', data: 1 }], { expectedVersion: -1 }],
    ['a fractional version', 's', [{ type: 'A', data: 1 }], { expectedVersion: 1.5 }],
    ['an unknown word', 's', [{ type: 'A', data: 1 }], { expectedVersion: 'latest' }],
  ])('refuses %s with E_INVALID_ARGUMENT', (_label, stream, events, options) => {
    expect(code(() => prepareAppend(stream, events, options as never, clock))).toBe('E_INVALID_ARGUMENT')
  })

  it.each([
    ['an empty type', { type: '', data: 1 }],
    ['a long type', { type: 'T'.repeat(257), data: 1 }],
    ['a non-uuid id', { id: 'abc', type: 'A', data: 1 }],
    ['a bad schemaVersion', { type: 'A', data: 1, metadata: { schemaVersion: 0 } }],
    ['a bad occurredAt', { type: 'A', data: 1, metadata: { occurredAt: 'yesterday' } }],
    ['a class instance event', new (class E {})()],
  ])('refuses %s with E_INVALID_EVENT', (_label, event) => {
    expect(code(() => prepareAppend('s', [event as never], undefined, clock))).toBe('E_INVALID_EVENT')
  })

  it('lower-cases given ids, so one id in two cases is one event', () => {
    const upper = ID.toUpperCase()
    expect(prepareAppend('s', [{ id: upper, type: 'A', data: 1 }], undefined, clock).events[0]?.id).toBe(ID)
    expect(
      code(() =>
        prepareAppend(
          's',
          [
            { id: upper, type: 'A', data: 1 },
            { id: ID, type: 'A', data: 2 },
          ],
          undefined,
          clock,
        ),
      ),
    ).toBe('E_INVALID_EVENT')
  })

  it.each([
    ['a lone surrogate', { s: 'ab\ud83d' }, /events\[0\]\.data\.s/],
    ['a lone low surrogate in an array', ['\ude00'], /events\[0\]\.data\[0\]/],
    ['U+0000', { s: 'a\u0000' }, /events\[0\]\.data\.s/],
    ['a key with U+0000', { 'a\u0000': 1 }, /keys are well-formed/],
    ['a DBRef-shaped object', { x: { $ref: 'c', $id: 1 } }, /events\[0\]\.data\.x.*DBRef/],
    ['a DBRef-shaped object with $db', { $ref: 'c', $id: 'i', $db: 'd' }, /DBRef/],
  ])('refuses %s in data, naming where', (_label, data, message) => {
    expect(() => prepareAppend('s', [{ type: 'A', data }], undefined, clock)).toThrowError(message)
  })

  it.each([
    ['a backslash-u written out', { s: '\\u0000 and \\ud83d' }],
    ['a whole emoji', { s: '😀', '🔑': 1 }],
    ['$ref alone', { $ref: 'c' }],
    ['$ref with a null $id', { $ref: 'c', $id: null }],
    ['$ref with a non-string $db', { $ref: 'c', $id: 1, $db: 2 }],
    ['"$ref" as a value', ['$ref', '$id']],
    ['other control characters', { s: 'a\u0001\t' }],
  ])('accepts %s', (_label, data) => {
    expect(prepareAppend('s', [{ type: 'A', data }], undefined, clock).events[0]?.data).toEqual(data)
  })

  it('refuses an id repeated within one batch', () => {
    const e = { id: ID, type: 'A', data: 1 }
    expect(code(() => prepareAppend('s', [e, e], undefined, clock))).toBe('E_INVALID_EVENT')
  })
})

describe('checkExpectedVersion', () => {
  it.each([
    ['any', 0, true],
    ['any', 5, true],
    ['no_stream', 0, true],
    ['no_stream', 1, false],
    ['stream_exists', 0, false],
    ['stream_exists', 2, true],
    [0, 0, true],
    [3, 3, true],
    [3, 4, false],
  ] as const)('expected %s at actual %s passes: %s', (expected, actual, passes) => {
    const run = () => checkExpectedVersion('s', expected, actual)
    if (passes) expect(run).not.toThrow()
    else {
      expect(run).toThrow(WrongExpectedVersionError)
      try {
        run()
      } catch (e) {
        const err = e as WrongExpectedVersionError
        expect([err.code, err.expectedVersion, err.actualVersion, err.context.actualVersion]).toEqual([
          'E_WRONG_EXPECTED_VERSION',
          expected,
          actual,
          actual,
        ])
      }
    }
  })
})

describe('findIdempotentResult', () => {
  const batch = prepareAppend(
    's',
    [ID, '7d444840-9dc0-11d1-b245-5ffdce74fad3'].map((id) => ({ id, type: 'A', data: 1 })),
    {},
    clock,
  ).events
  const at = (streamVersion: number, globalPosition: number, streamId = 's') => ({
    streamId,
    streamVersion,
    globalPosition,
  })

  it('lets a new batch through', () => {
    expect(findIdempotentResult('s', batch, [undefined, undefined])).toBeUndefined()
  })
  it('returns the original result for a repeated batch', () => {
    expect(findIdempotentResult('s', batch, [at(4, 10), at(5, 11)])).toEqual({
      nextExpectedVersion: 5,
      firstPosition: 10,
      lastPosition: 11,
    })
  })
  it.each([
    ['half stored', [at(4, 10), undefined]],
    ['stored elsewhere', [at(4, 10, 'other'), at(5, 11, 'other')]],
    ['stored in another order', [at(5, 11), at(4, 10)]],
  ])('throws DuplicateEventIdError when %s', (_label, found) => {
    expect(() => findIdempotentResult('s', batch, found)).toThrow(DuplicateEventIdError)
  })
})

describe('makeUpcast', () => {
  const event = (schemaVersion: number): RecordedEvent => ({
    id: ID,
    type: 'OrderPlaced',
    data: { total: 5 },
    metadata: { schemaVersion, occurredAt: '2026-01-01T00:00:00.000Z' },
    streamId: 's',
    streamVersion: 1,
    globalPosition: 1,
    recordedAt: new Date(0),
  })
  const upcast = makeUpcast({
    OrderPlaced: {
      1: (d) => ({ ...(d as object), currency: 'EUR' }),
      2: (d) => ({ ...(d as object), v3: true }),
    },
  })
  it('upgrades step by step from the stored version to the newest', () => {
    expect(upcast(event(1))).toMatchObject({
      data: { total: 5, currency: 'EUR', v3: true },
      metadata: { schemaVersion: 3 },
    })
    expect(upcast(event(2))).toMatchObject({ data: { total: 5, v3: true }, metadata: { schemaVersion: 3 } })
    expect(upcast(event(3)).data).toEqual({ total: 5 })
  })
  it('wraps a failing upcaster in E_UPCAST_FAILED', () => {
    const failing = makeUpcast({
      OrderPlaced: {
        1: () => {
          throw new Error('boom')
        },
      },
    })
    expect(() => failing(event(1))).toThrowError(/Upcasting OrderPlaced from schema version 1/)
  })
})
