import { describe, expect, expectTypeOf, it } from 'vitest'
import { overrideStore } from '../../test/support/eventstore.js'
import { isBulwarkError } from '../core/errors.js'
import { memoryEventStore } from './adapters/memory.js'
import { aggregateRepository, type RecordedOf } from './aggregate.js'
import type { EventStore } from './types.js'
import { upcasters } from './upcasters.js'

type CartEvent =
  | { type: 'ItemAdded'; data: { sku: string } }
  | { type: 'ItemRemoved'; data: { sku: string } }
  | { type: 'CheckedOut'; data: null }
type CartCommand = { add: string } | { remove: string } | { checkout: true }
type Cart = { items: Set<string>; open: boolean }

const cartAggregate = {
  initialState: (): Cart => ({ items: new Set(), open: true }),
  evolve: (state: Cart, event: RecordedOf<CartEvent>): Cart => {
    const items = new Set(state.items)
    if (event.type === 'ItemAdded') items.add(event.data.sku)
    if (event.type === 'ItemRemoved') items.delete(event.data.sku)
    return { items, open: event.type !== 'CheckedOut' }
  },
  decide: (command: CartCommand, state: Cart): CartEvent[] => {
    if (!state.open) throw new Error('cart is checked out')
    if ('add' in command) return state.items.has(command.add) ? [] : [{ type: 'ItemAdded', data: { sku: command.add } }]
    if ('remove' in command) return [{ type: 'ItemRemoved', data: { sku: command.remove } }]
    return [{ type: 'CheckedOut', data: null }]
  },
}

/** A store where another writer appends to the stream right before each of our appends. */
function contended(store: EventStore): { store: EventStore; attempts: () => number } {
  let attempts = 0
  const wrapped = overrideStore(store, {
    appendToStream: async (streamId, events, options) => {
      attempts++
      await store.appendToStream(streamId, [{ type: 'ItemAdded', data: { sku: `rival-${attempts}` } }])
      return store.appendToStream(streamId, events, options)
    },
  })
  return { store: wrapped, attempts: () => attempts }
}

describe('aggregateRepository', () => {
  it('handles commands, writes nothing when decide returns no events, and passes metadata', async () => {
    const store = memoryEventStore()
    const carts = aggregateRepository(store, { aggregate: cartAggregate, streamPrefix: 'cart-' })
    const added = await carts.handle('1', { add: 'apple' }, { metadata: { correlationId: 'req-1' } })
    expect([...added.state.items]).toEqual(['apple'])
    expect(added.version).toBe(1)
    const again = await carts.handle('1', { add: 'apple' })
    expect(again).toMatchObject({ version: 1, events: [], retries: 0 })
    expect(again.result).toBeUndefined()
    const [stored] = await store.readStream('cart-1')
    expect(stored?.metadata.correlationId).toBe('req-1')
    await carts.handle('1', { checkout: true })
    await expect(carts.handle('1', { add: 'pear' })).rejects.toThrow('cart is checked out')
    expect(await store.streamVersion('cart-1')).toBe(2)
  })

  it('gives up with WrongExpectedVersionError after maxRetries conflicts', async () => {
    const { store, attempts } = contended(memoryEventStore())
    const carts = aggregateRepository(store, { aggregate: cartAggregate, maxRetries: 2 })
    const error = await carts.handle('c', { add: 'x' }).catch((e: unknown) => e)
    expect(isBulwarkError(error, 'E_WRONG_EXPECTED_VERSION')).toBe(true)
    expect(attempts()).toBe(3)
  })

  it('snapshots through toSnapshot/fromSnapshot and ignores snapshots of another schema version', async () => {
    const store = memoryEventStore()
    const policy = {
      every: 2,
      toSnapshot: (s: Cart) => ({ items: [...s.items], open: s.open }),
      fromSnapshot: (json: unknown) => {
        const j = json as { items: string[]; open: boolean }
        return { items: new Set(j.items), open: j.open }
      },
    }
    const v1 = aggregateRepository(store, { aggregate: cartAggregate, snapshots: policy })
    for (const sku of ['a', 'b', 'c']) await v1.handle('s', { add: sku })
    expect(await store.loadSnapshot('s')).toEqual({
      streamId: 's',
      streamVersion: 2,
      state: { items: ['a', 'b'], open: true },
      schemaVersion: 1,
    })
    expect([...(await v1.load('s')).state.items]).toEqual(['a', 'b', 'c'])
    // A snapshot claiming other items proves the load starts from it.
    await store.saveSnapshot({ streamId: 's', streamVersion: 2, state: { items: ['z'], open: true }, schemaVersion: 1 })
    expect([...(await v1.load('s')).state.items]).toEqual(['z', 'c'])
    const v2 = aggregateRepository(store, { aggregate: cartAggregate, snapshots: { ...policy, schemaVersion: 2 } })
    expect([...(await v2.load('s')).state.items]).toEqual(['a', 'b', 'c'])
  })

  it('reports a snapshot that cannot be saved, and the save itself still succeeds', async () => {
    const store = memoryEventStore()
    const failures: string[] = []
    const carts = aggregateRepository(store, {
      aggregate: cartAggregate,
      snapshots: { every: 1 },
      onSnapshotError: (_error, streamId) => failures.push(streamId),
    })
    // A Set is not JSON and no toSnapshot was given.
    const result = await carts.handle('x', { add: 'a' })
    expect(result.version).toBe(1)
    expect(failures).toEqual(['x'])
  })

  it('folds upcast events', async () => {
    const store = memoryEventStore({
      upcasters: upcasters({ ItemAdded: { 1: (data: { name: string }) => ({ sku: data.name }) } }),
    })
    await store.appendToStream('u', [{ type: 'ItemAdded', data: { name: 'old' } }])
    await store.appendToStream('u', [{ type: 'ItemAdded', data: { sku: 'new' }, metadata: { schemaVersion: 2 } }])
    const carts = aggregateRepository(store, { aggregate: cartAggregate })
    expect([...(await carts.load('u')).state.items]).toEqual(['old', 'new'])
  })

  it.each<[string, unknown]>([
    ['no aggregate', {}],
    ['no evolve', { aggregate: { initialState: () => 0 } }],
    ['snapshots every 0', { aggregate: cartAggregate, snapshots: { every: 0 } }],
    ['negative maxRetries', { aggregate: cartAggregate, maxRetries: -1 }],
  ])('refuses %s with a typed error', (_label, options) => {
    expect(() => aggregateRepository(memoryEventStore(), options as never)).toThrowError(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
  })

  it.each<[string, unknown, string]>([
    [
      'no evolve',
      { initialState: () => 0 },
      'Expected `aggregate.evolve` to be a function (state, event) => state, got undefined',
    ],
    [
      'no initialState',
      { evolve: () => 0 },
      'Expected `aggregate.initialState` to be a function () => state, got undefined',
    ],
    [
      'a decide that is not a function',
      { initialState: () => 0, evolve: () => 0, decide: 1 },
      'Expected `aggregate.decide` to be a function (command, state) => events, got 1',
    ],
    [
      'no aggregate',
      undefined,
      'Expected `aggregate` to be an object { initialState, evolve, decide? }, got undefined',
    ],
  ])('names the missing member when given %s', (_label, aggregate, message) => {
    expect(() => aggregateRepository(memoryEventStore(), { aggregate } as never)).toThrowError(message)
  })

  it('refuses a bad id or time with E_INVALID_ARGUMENT', async () => {
    const carts = aggregateRepository(memoryEventStore(), { aggregate: cartAggregate })
    await expect(carts.load('')).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' })
    await expect(carts.aggregateStateAt('a', new Date('x'))).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' })
  })

  it('types evolve events from the union and commands from decide', () => {
    const carts = aggregateRepository(memoryEventStore(), { aggregate: cartAggregate })
    expectTypeOf(carts.handle).parameter(1).toEqualTypeOf<CartCommand>()
    expectTypeOf<RecordedOf<CartEvent>['type']>().toEqualTypeOf<'ItemAdded' | 'ItemRemoved' | 'CheckedOut'>()
  })
})

describe('upcasters', () => {
  it.each([
    ['a gap between versions', { A: { 1: (d: unknown) => d as null, 3: (d: unknown) => d as null } }],
    ['version 0', { A: { 0: (d: unknown) => d as null } }],
    ['a non-function step', { A: { 1: 'x' } }],
    ['no steps', { A: {} }],
    ['not an object', 'nope'],
  ])('refuses %s', (_label, definitions) => {
    expect(() => upcasters(definitions as never)).toThrowError(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
