import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { isBulwarkError } from '../../core/errors.js'
import { eventStoreSuite } from '../../testing/eventstore-suite.js'
import { fakeClock } from '../../testing/fake-clock.js'
import { subscribe } from '../subscribe.js'
import { sqliteEventStore, timeOrderedId } from './sqlite.js'

const dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const freshPath = () => join(dir, `${randomUUID()}.db`)
const events = (n: number, type = 'T') => Array.from({ length: n }, (_, i) => ({ type, data: { i } }))

eventStoreSuite('sqlite', async (options) => ({ store: sqliteEventStore({ ...options, path: freshPath() }) }))

describe('sqliteEventStore', () => {
  it('keeps events, snapshots and checkpoints across a reopen, and numbers on from the last position', async () => {
    const path = freshPath()
    const first = sqliteEventStore({ path })
    await first.appendToStream('s', events(3))
    await first.saveSnapshot({ streamId: 's', streamVersion: 3, state: { n: 3 }, schemaVersion: 1 })
    await first.storeCheckpoint('sub', 2)
    await first.close()
    const second = sqliteEventStore({ path })
    expect(await second.appendToStream('s', events(1), { expectedVersion: 3 })).toEqual({
      nextExpectedVersion: 4,
      firstPosition: 4,
      lastPosition: 4,
    })
    expect((await second.loadSnapshot('s'))?.state).toEqual({ n: 3 })
    expect(await second.loadCheckpoint('sub')).toBe(2)
    await second.close()
  })

  it('a transaction that fails after inserting some rows rolls back and leaves no gap', async () => {
    const database = new Database(freshPath())
    const store = sqliteEventStore({ database })
    await store.appendToStream('s', events(2))
    // The third insert of the batch fails inside SQLite, after two rows of the batch were inserted.
    database.exec(`CREATE TRIGGER boom BEFORE INSERT ON bulwark_events WHEN NEW.type = 'Boom'
      BEGIN SELECT RAISE(ABORT, 'boom'); END`)
    const error = await store
      .appendToStream('s', [...events(2), { type: 'Boom', data: 1 }, ...events(2)])
      .catch((e: unknown) => e)
    expect(isBulwarkError(error, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(await store.headPosition()).toBe(2)
    expect(await store.appendToStream('s', events(1))).toEqual({
      nextExpectedVersion: 3,
      firstPosition: 3,
      lastPosition: 3,
    })
    await store.close()
    // The store does not close a database it was given.
    expect(database.open).toBe(true)
    database.close()
  })

  it('in a round, an append that fails inside SQLite after inserting rows rolls back alone; the others commit', async () => {
    const database = new Database(freshPath())
    const store = sqliteEventStore({ database })
    database.exec(`CREATE TRIGGER boom BEFORE INSERT ON bulwark_events WHEN NEW.type = 'Boom'
      BEGIN SELECT RAISE(ABORT, 'boom'); END`)
    // Started in one tick, so one round: the middle append inserts two rows, then fails on its third.
    const [first, broken, last] = await Promise.allSettled([
      store.appendToStream('a', events(2)),
      store.appendToStream('b', [...events(2), { type: 'Boom', data: 1 }]),
      store.appendToStream('c', events(1)),
    ])
    expect(first).toEqual({ status: 'fulfilled', value: { nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2 } })
    expect(broken?.status === 'rejected' && isBulwarkError(broken.reason, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(last).toEqual({ status: 'fulfilled', value: { nextExpectedVersion: 1, firstPosition: 3, lastPosition: 3 } })
    expect((await store.readAll()).map((e) => [e.streamId, e.globalPosition])).toEqual([
      ['a', 1],
      ['a', 2],
      ['c', 3],
    ])
    await store.close()
    database.close()
  })

  it('a round that cannot get the write lock fails every append of it; the next round proceeds', async () => {
    const path = freshPath()
    const store = sqliteEventStore({ path, busyTimeout: 20 })
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    const outcomes = await Promise.all(
      ['a', 'b', 'c'].map((s) =>
        store.appendToStream(s, events(1)).then(
          () => 'committed',
          (e: unknown) => e,
        ),
      ),
    )
    for (const outcome of outcomes) expect(isBulwarkError(outcome, 'E_STORE_UNAVAILABLE')).toBe(true)
    other.exec('ROLLBACK')
    other.close()
    expect(await store.headPosition()).toBe(0)
    const next = await Promise.all(['a', 'b'].map((s) => store.appendToStream(s, events(1))))
    expect(next.map((r) => r.lastPosition)).toEqual([1, 2])
    await store.close()
  })

  it('two stores on one file share the single writer: positions stay gap-free and watch wakes the other', async () => {
    const path = freshPath()
    const a = sqliteEventStore({ path })
    const b = sqliteEventStore({ path })
    let woken = 0
    const unwatch = a.watch(() => {
      woken++
    })
    const seen: number[] = []
    const sub = subscribe(a, { subscriptionId: 'two', handler: (e) => void seen.push(e.globalPosition) })
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).appendToStream(`s-${i % 7}`, events(1 + (i % 3)))),
    )
    const head = await b.headPosition()
    await sub.waitFor(head)
    await sub.close()
    unwatch()
    expect(woken).toBeGreaterThanOrEqual(100)
    expect(seen).toEqual(Array.from({ length: head }, (_, i) => i + 1))
    await a.close()
    await b.close()
  })

  it('runs in WAL mode with the chosen durability, and uses the type and time indexes', async () => {
    const database = new Database(freshPath())
    sqliteEventStore({ database, durability: 'full' })
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(database.pragma('synchronous', { simple: true })).toBe(2)
    const normal = new Database(freshPath())
    sqliteEventStore({ database: normal })
    expect(normal.pragma('synchronous', { simple: true })).toBe(1)
    const plan = (sql: string) =>
      (database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ')
    expect(plan("SELECT * FROM bulwark_events WHERE type = 'A' ORDER BY position")).toMatch(/bulwark_events_by_type/)
    expect(plan('SELECT * FROM bulwark_events WHERE recorded_at >= 1 AND recorded_at < 2')).toMatch(
      /bulwark_events_by_recorded_at/,
    )
    database.close()
    normal.close()
  })

  it('generates time-ordered (v7) event ids, so the id index grows at its end; given ids are kept as they are', async () => {
    const clock = fakeClock(0x0123_4567_89ab)
    const store = sqliteEventStore({ path: freshPath(), clock })
    const given = randomUUID()
    await store.appendToStream('s', [
      { type: 'T', data: 0 },
      { id: given, type: 'T', data: 1 },
    ])
    for (let i = 0; i < 50; i++) {
      clock.advance(i % 3)
      await store.appendToStream(`s-${i % 4}`, events(2))
    }
    const all = await store.readAll()
    expect(all[0]?.id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(all[1]?.id).toBe(given)
    const generated = all.filter((e) => e.id !== given).map((e) => e.id)
    expect(new Set(generated).size).toBe(generated.length)
    // Ordered by their time prefix, in the order they were appended (ties within a millisecond aside).
    const prefixes = generated.map((id) => id.slice(0, 13))
    expect(prefixes).toEqual([...prefixes].sort())
    expect(prefixes.at(-1)).toBe(timeOrderedId(randomUUID(), clock.now()).slice(0, 13))
    await store.close()
  })

  it('timeOrderedId keeps the random bits and clamps the time to 48 bits', () => {
    const v4 = '0f1e2d3c-4b5a-4978-a695-a4b3c2d1e0f9'
    expect(timeOrderedId(v4, 1)).toBe('00000000-0001-7978-a695-a4b3c2d1e0f9')
    expect(timeOrderedId(v4, -5)).toBe('00000000-0000-7978-a695-a4b3c2d1e0f9')
    expect(timeOrderedId(v4, 2 ** 60)).toBe('ffffffff-ffff-7978-a695-a4b3c2d1e0f9')
  })

  it.each([
    ['neither path nor database', {}],
    ['both path and database', { path: 'x.db', database: {} as never }],
    ['an unknown durability', { path: ':memory:', durability: 'fast' }],
    ['a bad table prefix', { path: ':memory:', tablePrefix: 'x; DROP TABLE y' }],
    ['a bad busy timeout', { path: ':memory:', busyTimeout: 'soon' }],
    ['a bad clock', { path: ':memory:', clock: {} }],
  ])('refuses %s with E_INVALID_OPTION', (_label, options) => {
    expect(() => sqliteEventStore(options as never)).toThrowError(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })

  it('refuses calls after close with E_STORE_CLOSED', async () => {
    const store = sqliteEventStore({ path: ':memory:' })
    await store.close()
    await expect(store.headPosition()).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
  })
})
