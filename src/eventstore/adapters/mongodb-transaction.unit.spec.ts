import { createRequire } from 'node:module'
import { describe, expect, it, vi } from 'vitest'
import { mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { isBulwarkError } from '../../core/errors.js'
import { fakeClock } from '../../testing/fake-clock.js'
import { prepareAppend } from '../internal/index.js'
import { backoffMs, committedResult, driverBacksOff, transactionBackoff } from './mongodb-transaction.js'

describe('transaction backoff', () => {
  it('grows by 1.5 from 5 ms to at most 500 ms, with full jitter', () => {
    expect([1, 2, 3, 10, 20].map((n) => backoffMs(n, () => 1))).toEqual([7.5, 11.25, 16.875, 5 * 1.5 ** 10, 500])
    expect(backoffMs(20, () => 0)).toBe(0)
  })

  it.each([
    ['6.8.0', false],
    ['6.21.0', false],
    ['7.0.0', false],
    ['7.0.9', false],
    ['7.1.0', true],
    ['7.1.1', true],
    ['7.2.0', true],
    ['7.9.0', true],
    ['8.0.0', true],
    [undefined, false],
  ])('driver %s backs off by itself: %s', (version, backsOff) => {
    expect(driverBacksOff(version)).toBe(backsOff)
    expect(transactionBackoff(version) === undefined).toBe(backsOff)
  })
})

// Each supported driver's own withTransaction, run without a server: a callback that fails before it
// sends anything needs none, and neither does committing a transaction that sent nothing. The driver
// sleeps through `require('timers/promises').setTimeout`, which is watched here.
describe.each(mongoDrivers)('the withTransaction of $name', (driver) => {
  it('waits between attempts after a WriteConflict exactly when the store does not, and returns the callback value', async () => {
    const timers = createRequire(import.meta.url)('node:timers/promises') as {
      setTimeout: (ms: number) => Promise<void>
    }
    const sleep = vi.spyOn(timers, 'setTimeout')
    const client = driver.client('mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100')
    const session = client.startSession()
    try {
      let attempts = 0
      const result = await session.withTransaction(async () => {
        if (++attempts < 6) {
          const conflict = new driver.module.MongoServerError({ code: 112, codeName: 'WriteConflict', errmsg: 'x' })
          conflict.addErrorLabel('TransientTransactionError')
          throw conflict
        }
        return 'the callback value'
      })
      expect(attempts).toBe(6)
      expect(result).toBe('the callback value') // the store returns what its callback returned
      const driverWaits = sleep.mock.calls.length
      expect(driverWaits).toBe(driver.major === 6 ? 0 : 5)
      expect(driverBacksOff(driver.version)).toBe(driverWaits > 0)
      expect(transactionBackoff(driver.version) === undefined).toBe(driverWaits > 0)
    } finally {
      sleep.mockRestore()
      await session.endSession()
      await client.close()
    }
  })
})

describe('committedResult (an append whose commit outcome is unknown)', () => {
  const append = prepareAppend(
    's',
    [
      { type: 'A', data: 1 },
      { type: 'B', data: 2 },
    ],
    undefined,
    fakeClock(),
  )
  const [a, b] = append.events.map((e) => e.id) as [string, string]

  it('returns the result when every event of the batch, generated ids included, is stored', () => {
    const stored = new Map([
      [a, { streamId: 's', streamVersion: 4, globalPosition: 10 }],
      [b, { streamId: 's', streamVersion: 5, globalPosition: 11 }],
    ])
    expect(append.events.every((e) => !e.idGiven)).toBe(true)
    expect(committedResult(append, stored)).toEqual({ nextExpectedVersion: 5, firstPosition: 10, lastPosition: 11 })
  })

  it('returns undefined when none is stored: the commit did not happen', () => {
    expect(committedResult(append, new Map())).toBeUndefined()
  })

  it('throws DuplicateEventIdError on a partial find, which this batch alone cannot produce', () => {
    const stored = new Map([[a, { streamId: 's', streamVersion: 4, globalPosition: 10 }]])
    let error: unknown
    try {
      committedResult(append, stored)
    } catch (e) {
      error = e
    }
    expect(isBulwarkError(error, 'E_DUPLICATE_EVENT_ID')).toBe(true)
  })
})
