/** Saga tests with several orchestrators (or lives of one) on one store: the store opened twice, and a wait. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect } from 'vitest'
import { sqliteEventStore } from '../../src/eventstore/adapters/sqlite.js'
import { type EventStore, memoryEventStore } from '../../src/eventstore/index.js'
import type { FakeClock } from '../../src/testing/fake-clock.js'

const dir = mkdtempSync(join(tmpdir(), 'bulwark-saga-shared-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * Two stores that share the data, as two processes would: one object for memory, two connections to one
 * file for SQLite (so closing the first one, as a killed process does, leaves the second one working).
 */
export const sharedStores: [string, (clock: FakeClock) => [EventStore, EventStore]][] = [
  [
    'memory',
    (clock) => {
      const store = memoryEventStore({ clock })
      return [store, store]
    },
  ],
  [
    'SQLite',
    (clock) => {
      const path = join(dir, `${Math.random().toString(36).slice(2)}.db`)
      return [sqliteEventStore({ path, clock }), sqliteEventStore({ path, clock })]
    },
  ],
]

/** Lets a step start (appends and promise callbacks run) without moving the clock. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(condition()).toBe(true)
}
