/**
 * What the shell does around any backend, shown with a stand-in backend that records its calls: the
 * conformance suite proves the adapters; this proves the parts no in-process adapter exercises
 * (migrate-once, error mapping of a driver, what never reaches the backend).
 */
import { describe, expect, it } from 'vitest'
import { BulwarkError, isBulwarkError } from '../../core/errors.js'
import { fakeClock } from '../../testing/fake-clock.js'
import type { RecordedEvent } from '../types.js'
import { EventStoreShell, type StoreBackend } from './shell.js'
import type { DescribeFailure } from './store-error.js'
import { Watchers } from './watchers.js'

const describeError: DescribeFailure = (error, operation) => ({
  message: `test backend ${operation} failed: ${(error as Error).message}`,
  context: { operation },
})

function backend(overrides: Partial<StoreBackend> = {}) {
  const calls: string[] = []
  const record =
    <T>(name: string, value: T) =>
    () => {
      calls.push(name)
      return value
    }
  const b: StoreBackend = {
    describeError,
    migrate: async () => {
      calls.push('migrate')
    },
    append: record('append', { nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 }),
    readStream: record('readStream', [] as RecordedEvent[]),
    readAll: record('readAll', [] as RecordedEvent[]),
    streamVersion: record('streamVersion', 0),
    headPosition: record('headPosition', 0),
    saveSnapshot: record('saveSnapshot', undefined),
    loadSnapshot: record('loadSnapshot', undefined),
    loadCheckpoint: record('loadCheckpoint', undefined),
    storeCheckpoint: record('storeCheckpoint', undefined),
    watchers: new Watchers(),
    close: async () => {
      calls.push('close')
    },
    ...overrides,
  }
  return { backend: b, calls }
}

class TestStore extends EventStoreShell {
  constructor(b: StoreBackend) {
    super('test', { clock: fakeClock() }, () => b)
  }
  migrate(): Promise<void> {
    return this.migrateOnce()
  }
}

const event = [{ type: 'A', data: 1 }]

describe('EventStoreShell', () => {
  it('migrates once, before the first operation, for concurrent first calls too', async () => {
    const { backend: b, calls } = backend()
    const store = new TestStore(b)
    await Promise.all([store.headPosition(), store.appendToStream('s', event), store.readStream('s')])
    await store.loadCheckpoint('sub')
    expect(calls.filter((c) => c === 'migrate')).toHaveLength(1)
    expect(calls[0]).toBe('migrate')
  })

  it('maps a failed migration through describeError and runs it again on the next call', async () => {
    let attempts = 0
    const { backend: b, calls } = backend({
      migrate: async () => {
        if (++attempts === 1) throw new Error('server unreachable')
      },
    })
    const store = new TestStore(b)
    const error = await store.headPosition().catch((e: unknown) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toBe('test backend migrate failed: server unreachable')
    expect(calls).toEqual([])
    expect(await store.headPosition()).toBe(0)
    expect(attempts).toBe(2)
  })

  it('leaves migrating to the user when the backend says autoMigrate: false', async () => {
    let migrations = 0
    const { backend: b, calls } = backend({
      autoMigrate: false,
      migrate: async () => {
        migrations++
      },
    })
    const store = new TestStore(b)
    await store.appendToStream('s', event)
    expect(migrations).toBe(0)
    await store.migrate()
    await store.migrate()
    expect(migrations).toBe(1)
    expect(calls).toEqual(['append'])
  })

  it('maps what a backend throws, at once or in a promise, naming the operation; Bulwark errors pass', async () => {
    const own = new BulwarkError('E_WRONG_EXPECTED_VERSION', 'refused')
    const { backend: b } = backend({
      readAll: () => {
        throw new Error('disk I/O error')
      },
      saveSnapshot: async () => {
        throw new Error('disk full')
      },
      append: async () => {
        throw own
      },
    })
    const store = new TestStore(b)
    const read = await store.readAll().catch((e: unknown) => e)
    expect(read).toMatchObject({ code: 'E_STORE_UNAVAILABLE', context: { operation: 'read' } })
    expect((read as Error).cause).toMatchObject({ message: 'disk I/O error' })
    const write = await store
      .saveSnapshot({ streamId: 's', streamVersion: 1, state: 1, schemaVersion: 1 })
      .catch((e: unknown) => e)
    expect(write).toMatchObject({ code: 'E_STORE_UNAVAILABLE', context: { operation: 'write' } })
    expect(await store.appendToStream('s', event).catch((e: unknown) => e)).toBe(own)
  })

  it('passes errors on unchanged from a backend that reads none', async () => {
    const bug = new TypeError('a bug')
    const { backend: b } = backend({
      describeError: undefined,
      headPosition: () => {
        throw bug
      },
    })
    expect(await new TestStore(b).headPosition().catch((e: unknown) => e)).toBe(bug)
  })

  it('answers reads that cannot match anything without the backend or a migration', async () => {
    const { backend: b, calls } = backend()
    const store = new TestStore(b)
    expect(await store.readAll({ maxCount: 0 })).toEqual([])
    expect(await store.readAll({ types: [] })).toEqual([])
    expect(await store.readStream('s', { maxCount: 0 })).toEqual([])
    expect(calls).toEqual([])
  })

  it("runs the backend's checks before the migration, and wakes watchers after an append", async () => {
    const { backend: b, calls } = backend({
      checkAppend: () => {
        throw new BulwarkError('E_INVALID_EVENT', 'too big')
      },
    })
    const store = new TestStore(b)
    await expect(store.appendToStream('s', event)).rejects.toMatchObject({ code: 'E_INVALID_EVENT' })
    expect(calls).toEqual([])

    const plain = backend()
    const watched = new TestStore(plain.backend)
    let wakes = 0
    watched.watch(() => wakes++)
    await watched.appendToStream('s', event)
    expect(wakes).toBe(1)
  })

  it('refuses every call after close with E_STORE_CLOSED, and closes the backend once', async () => {
    const { backend: b, calls } = backend()
    const store = new TestStore(b)
    await store.close()
    await store.close()
    expect(calls).toEqual(['close'])
    const refused = await Promise.all([
      store.appendToStream('s', event).catch((e: unknown) => e),
      store.readStream('s').catch((e: unknown) => e),
      store.readAll().catch((e: unknown) => e),
      store.streamVersion('s').catch((e: unknown) => e),
      store.headPosition().catch((e: unknown) => e),
      store.loadSnapshot('s').catch((e: unknown) => e),
      store.loadCheckpoint('sub').catch((e: unknown) => e),
      store.storeCheckpoint('sub', 1).catch((e: unknown) => e),
    ])
    for (const error of refused) expect(isBulwarkError(error, 'E_STORE_CLOSED')).toBe(true)
    // As before the shell: these two throw at once.
    expect(() => store.watch(() => {})).toThrow(expect.objectContaining({ code: 'E_STORE_CLOSED' }))
    expect(() => store.migrate()).toThrow(expect.objectContaining({ code: 'E_STORE_CLOSED' }))
    expect(calls).toEqual(['close'])
  })
})
