import { expect, it } from 'vitest'
import type { NewEvent } from '../eventstore/index.js'
import { expectCode, expectValidationErrors, makeEvents, type SuiteContext } from './eventstore-suite.js'

// Half of 🐻 and of 😀: what a stream id cut at a fixed length ends with.
const HIGH_1 = '\ud83c'
const HIGH_2 = '\ud83d'

/** Event ids, and the text every adapter must store exactly or refuse the same way. */
export function inputTests({ open }: SuiteContext): void {
  it('treats event ids case-insensitively: the same id in another case is an idempotent retry', async () => {
    const store = await open()
    const lower = '6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4eaa'
    const batch = (id: string): NewEvent[] => [{ id, type: 'A', data: 1 }]
    const original = await store.appendToStream('s', batch(lower.toUpperCase()), { expectedVersion: 'no_stream' })
    expect(await store.appendToStream('s', batch(lower), { expectedVersion: 'no_stream' })).toEqual(original)
    expect(await store.appendToStream('s', batch(lower.toUpperCase()))).toEqual(original)
    await expectCode(store.appendToStream('other', batch(lower)), 'E_DUPLICATE_EVENT_ID')
    await expectCode(
      store.appendToStream('t', [...batch(lower.replace('aa', 'bb')), ...batch(lower.replace('aa', 'BB'))]),
      'E_INVALID_EVENT',
    )
    const events = await store.readAll()
    expect(events.map((e) => e.id)).toEqual([lower])
  })

  it('refuses text no adapter can give back (lone surrogates, U+0000, a { $ref, $id } object), writing nothing', async () => {
    const store = await open()
    const ok = makeEvents(1)
    const bad: [string, () => Promise<unknown>][] = [
      ['a lone surrogate in a stream id', () => store.appendToStream(`acct-${HIGH_1}`, ok)],
      ['a lone low surrogate in a stream id', () => store.appendToStream('acct-\udc00x', ok)],
      ['a lone surrogate in a type', () => store.appendToStream('s', [{ type: `T${HIGH_2}`, data: 1 }])],
      ['U+0000 in a type', () => store.appendToStream('s', [{ type: 'T\u0000', data: 1 }])],
      ['a lone surrogate in data', () => store.appendToStream('s', [{ type: 'A', data: `ab${HIGH_2}` }])],
      ['a nested lone surrogate', () => store.appendToStream('s', [{ type: 'A', data: { a: [{ b: `x${HIGH_1}` }] } }])],
      ['a lone surrogate in a data key', () => store.appendToStream('s', [{ type: 'A', data: { [`k${HIGH_2}`]: 1 } }])],
      ['U+0000 in data', () => store.appendToStream('s', [{ type: 'A', data: { text: 'nul \u0000 inside' } }])],
      ['U+0000 in a data key', () => store.appendToStream('s', [{ type: 'A', data: { 'a\u0000b': 1 } }])],
      [
        'a lone surrogate in a metadata key',
        () => store.appendToStream('s', [{ type: 'A', data: 1, metadata: { [`k${HIGH_1}`]: 1 } }]),
      ],
      [
        'a lone surrogate in a correlation id',
        () => store.appendToStream('s', [{ type: 'A', data: 1, metadata: { correlationId: `c${HIGH_2}` } }]),
      ],
      [
        'an object MongoDB reads back as a DBRef',
        () => store.appendToStream('s', [{ type: 'A', data: { link: { $ref: 'orders', $id: 7 } } }]),
      ],
      ['a lone surrogate in a type filter', () => store.readAll({ types: [`T${HIGH_1}`] })],
      ['a lone surrogate in a read', () => store.readStream(`acct-${HIGH_1}`)],
      ['a lone surrogate in a version query', () => store.streamVersion(`acct-${HIGH_2}`)],
      ['a lone surrogate in a checkpoint id', () => store.storeCheckpoint(`sub-${HIGH_1}`, 1)],
      [
        'a lone surrogate in a snapshot',
        () => store.saveSnapshot({ streamId: 's', streamVersion: 1, state: { n: `x${HIGH_1}` }, schemaVersion: 1 }),
      ],
      [
        'a lone surrogate in a snapshot stream id',
        () => store.saveSnapshot({ streamId: `s${HIGH_1}`, streamVersion: 1, state: 1, schemaVersion: 1 }),
      ],
    ]
    await expectValidationErrors(bad)
    expect(await store.headPosition()).toBe(0)
    expect(await store.loadSnapshot('s')).toBeUndefined()
  })

  it('keeps streams whose ids differ only in a cut emoji apart, by refusing both', async () => {
    const store = await open()
    await expectCode(store.appendToStream(`acct-${HIGH_1}`, makeEvents(1)), 'E_INVALID_ARGUMENT')
    await expectCode(store.appendToStream(`acct-${HIGH_2}`, makeEvents(1)), 'E_INVALID_ARGUMENT')
    expect(await store.headPosition()).toBe(0)
  })

  it('gives back well-formed text exactly: emoji, $ and dotted keys, U+FFFD, line separators', async () => {
    const store = await open()
    const stream = 'acct-🐻-😀'
    const type = 'Noted✓'
    const data = {
      emoji: '🐻😀👍🏽',
      replacement: '\ufffd',
      separators: 'a\u2028b\u2029c',
      controls: 'tab\there\u0001',
      $set: 1,
      'dotted.key': { $inc: 2 },
      $ref: 'only a $ref, no $id',
      '🔑': ['ö', 'ß', '中文'],
    }
    await store.appendToStream(stream, [{ type, data, metadata: { $source: 'x', correlationId: '🐻' } }])
    const [event] = await store.readStream(stream)
    expect(event?.streamId).toBe(stream)
    expect(event?.type).toBe(type)
    expect(event?.data).toEqual(data)
    expect(event?.metadata).toMatchObject({ $source: 'x', correlationId: '🐻' })
    expect((await store.readAll({ types: [type] })).map((e) => e.streamId)).toEqual([stream])
  })
}
