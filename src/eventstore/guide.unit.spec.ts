/**
 * The snippets of docs/eventstore.md, compiled and run. Each `#region` is copied into the guide as is,
 * with the imports the guide prints above it; the last test checks that every `ts` block of the guide
 * is such a region (here, in guide.int.spec.ts for the servers, or in memory.unit.spec.ts), that every
 * region is shown, and that every name it imports exists.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it, onTestFinished, vi } from 'vitest'
import { publicEntries } from '../../scripts/exports.js'
import { guideRegions } from '../../test/support/guide-regions.js'
import { fakeClock } from '../testing/fake-clock.js'
import { sqliteEventStore } from './adapters/sqlite.js'
import {
  aggregateRepository,
  idempotent,
  memoryEventStore,
  projection,
  type RecordedOf,
  subscribe,
  upcasters,
  WrongExpectedVersionError,
} from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'bulwark-guide-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it('quick start', async () => {
  const cwd = process.cwd()
  process.chdir(dir)
  onTestFinished(() => process.chdir(cwd))
  // #region quick-start
  type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderPaid'; data: { amount: number } }

  const store = sqliteEventStore({ path: './events.db' })
  const orders = aggregateRepository(store, {
    streamPrefix: 'order-',
    snapshots: { every: 100 },
    aggregate: {
      initialState: () => ({ status: 'none', total: 0 }),
      evolve: (state, event: RecordedOf<OrderEvent>) =>
        event.type === 'OrderPlaced' ? { status: 'placed', total: event.data.total } : { ...state, status: 'paid' },
      decide: (command: { place: number } | { pay: true }, state): OrderEvent[] =>
        'place' in command
          ? [{ type: 'OrderPlaced', data: { total: command.place } }]
          : [{ type: 'OrderPaid', data: { amount: state.total } }],
    },
  })
  await orders.handle('42', { place: 99 })
  const { state, version } = await orders.handle('42', { pay: true }) // { status: 'paid', total: 99 }, 2

  let revenue = 0
  const revenueProjection = projection<OrderEvent>(store, {
    projectionId: 'revenue',
    handlers: {
      OrderPaid: (event) => {
        revenue += event.data.amount
      },
    },
  })
  // #endregion quick-start
  await revenueProjection.waitFor(await store.headPosition())
  await revenueProjection.close()
  expect([state, version, revenue]).toEqual([{ status: 'paid', total: 99 }, 2, 99])
  await store.close()
})

it('appending and reading', async () => {
  // #region append
  const store = memoryEventStore()
  const placed = {
    id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', // optional; makes a retry of this call a no-op
    type: 'OrderPlaced',
    data: { total: 42 },
    metadata: { correlationId: 'req-9', causationId: 'cmd-3' },
  }
  const result = await store.appendToStream('order-7', [placed], { expectedVersion: 'no_stream' })
  // result: { nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 }
  try {
    await store.appendToStream('order-7', [{ type: 'OrderPaid', data: { amount: 42 } }], { expectedVersion: 0 })
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error
    // error.expectedVersion === 0, error.actualVersion === 1: reload, decide again, retry
  }
  const latestTwo = await store.readStream('order-7', { direction: 'backwards', maxCount: 2 })
  for await (const event of store.iterateAll({ after: 0, types: ['OrderPlaced'], pageSize: 1_000 })) {
    console.log(event.globalPosition, event.streamId, event.data)
  }
  // #endregion append
  expect(result).toEqual({ nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 })
  expect(latestTwo.map((e) => e.type)).toEqual(['OrderPlaced'])
})

it('subscriptions', async () => {
  const printed = vi.spyOn(console, 'log').mockImplementation(() => {})
  onTestFinished(() => printed.mockRestore())
  // #region subscribe
  const store = memoryEventStore()
  const mailer = { send: async (data: unknown) => console.log('mail', data) }
  const subscription = subscribe(store, {
    subscriptionId: 'order-emails',
    types: ['OrderPlaced'],
    handler: idempotent(async (event) => mailer.send(event.data), { store, key: 'order-emails:sent' }),
    onError: (error, event) => console.error('will retry', event?.id, error),
  })
  // ... on shutdown: waits for the running handler, stores the checkpoint
  await subscription.close()
  // #endregion subscribe
  await store.appendToStream('o', [{ type: 'OrderPlaced', data: 1 }])
  const again = subscribe(store, {
    subscriptionId: 'order-emails',
    types: ['OrderPlaced'],
    handler: idempotent(async (event) => mailer.send(event.data), { store, key: 'order-emails:sent' }),
  })
  await again.waitFor(1)
  await again.close()
  expect(printed.mock.calls).toEqual([['mail', 1]])
})

it('upcasters and temporal queries', async () => {
  // #region upcasters
  const clock = fakeClock(Date.UTC(2026, 4, 1))
  const store = memoryEventStore({
    clock,
    upcasters: upcasters({
      // v1 stored { total }, v2 stored { amount, currency }, v3 (current) adds lines
      OrderPlaced: {
        1: (data: { total: number }) => ({ amount: data.total, currency: 'EUR' }),
        2: (data: { amount: number; currency: string }) => ({ ...data, lines: [] }),
      },
    }),
  })
  await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { total: 5 } }]) // an old writer
  const [placed] = await store.readStream('order-1')
  // placed.data: { amount: 5, currency: 'EUR', lines: [] }, placed.metadata.schemaVersion: 3
  // #endregion upcasters
  expect(placed?.data).toEqual({ amount: 5, currency: 'EUR', lines: [] })
  // #region temporal
  clock.advance(86_400_000) // a day later
  await store.appendToStream('order-1', [{ type: 'PaymentFailed', data: { reason: 'card declined' } }])
  const may = { recordedFrom: new Date('2026-05-01T00:00:00Z'), recordedTo: new Date('2026-06-01T00:00:00Z') }
  const failedInMay = await store.readAll({ types: ['PaymentFailed'], ...may })
  const orders = aggregateRepository(store, {
    aggregate: { initialState: () => 'none', evolve: (_state: string, event) => event.type },
  })
  const asOfMay1st = await orders.aggregateStateAt('order-1', new Date('2026-05-01T12:00:00Z'))
  // asOfMay1st: { state: 'OrderPlaced', version: 1 }
  // #endregion temporal
  expect(failedInMay.map((e) => e.streamId)).toEqual(['order-1'])
  expect(asOfMay1st).toEqual({ state: 'OrderPlaced', version: 1 })
})

it('sqlite adapter', async () => {
  const cwd = process.cwd()
  process.chdir(dir)
  onTestFinished(() => process.chdir(cwd))
  // #region sqlite
  const store = sqliteEventStore({ path: './events.db', durability: 'normal' })
  // #endregion sqlite
  expect(await store.headPosition()).toBeGreaterThanOrEqual(0)
  await store.close()
})

it('every snippet of docs/eventstore.md is a tested region, every region is in it, and its imports exist', async () => {
  const guide = readFileSync(new URL('../../docs/eventstore.md', import.meta.url), 'utf8')
  const regions = [import.meta.url, './guide.int.spec.ts', './adapters/memory.unit.spec.ts'].flatMap((file) =>
    guideRegions(new URL(file, import.meta.url)),
  )
  const tested = regions.map((r) => r.code)
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1] as string)
  const modules = new Map(publicEntries(new URL('../../', import.meta.url)).map((e) => [e.specifier, e.source]))
  const shown: string[] = []
  for (const block of blocks) {
    const lines = block.split('\n')
    const imports = lines.filter((l) => l.startsWith('import '))
    const body = lines.slice(imports.length).join('\n').replace(/^\n+/, '')
    expect(tested, `a tested region:\n${body}`).toContain(body)
    shown.push(body)
    for (const line of imports) {
      const match = /^import (?:type )?(?:\{ (.+) \}|\w+) from '(.+)'$/.exec(line)
      expect(match, line).not.toBeNull()
      const [, names = '', specifier = ''] = match as RegExpExecArray
      const source = modules.get(specifier)
      const module = (await import(source ? `../../${source}` : specifier)) as Record<string, unknown>
      for (const name of names.split(', ').filter((n) => n !== '' && !n.startsWith('type ')))
        expect(module[name], `${name} from ${specifier}`).toBeDefined()
    }
  }
  for (const { name, code } of regions) expect(shown, `region ${name} is in the guide`).toContain(code)
  expect(shown.length, 'each region is shown once').toBe(regions.length)
})
