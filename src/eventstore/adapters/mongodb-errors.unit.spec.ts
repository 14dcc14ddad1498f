/**
 * Error mapping with each supported driver's own error classes (7.x and 6.8, see
 * test/support/mongodb-drivers.ts): the store recognises errors by shape, so both majors must map alike.
 */
import { describe, expect, it } from 'vitest'
import { type MongoDriverUnderTest, mongoDrivers } from '../../../test/support/mongodb-drivers.js'
import { BulwarkError, isBulwarkError } from '../../core/errors.js'
import { toStoreError } from '../internal/index.js'
import { checkHello, describeMongoError, hasErrorLabel, MongoReplicaSetRequiredError } from './mongodb-errors.js'

// What the store does with a driver error: describeMongoError read by the one toStoreError.
const mapError = (error: unknown) => toStoreError(error, describeMongoError, 'append')

type ErrorClass = new (...args: never[]) => Error & { addErrorLabel?(label: string): void }

/** One of the driver's error classes by name; `undefined` when this driver has no such class. */
function errorClass(driver: MongoDriverUnderTest, name: string): ErrorClass | undefined {
  return (driver.module as unknown as Record<string, ErrorClass | undefined>)[name]
}

function make(driver: MongoDriverUnderTest, name: string, ...args: unknown[]): Error {
  const Class = errorClass(driver, name)
  if (!Class) throw new Error(`${driver.name} has no ${name}`)
  return new (Class as new (...a: unknown[]) => Error)(...args)
}

function writeConflict(driver: MongoDriverUnderTest): Error {
  const error = make(driver, 'MongoServerError', {
    code: 112,
    codeName: 'WriteConflict',
    errmsg: 'Write conflict during plan execution',
  }) as Error & { addErrorLabel(label: string): void }
  error.addErrorLabel('TransientTransactionError')
  return error
}

function unknownCommit(driver: MongoDriverUnderTest): Error {
  const error = make(driver, 'MongoWriteConcernError', {
    writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out' },
  }) as Error & { addErrorLabel(label: string): void }
  error.addErrorLabel('UnknownTransactionCommitResult')
  return error
}

// Added to the driver after 6.8: with 6.8 these failures arrive as other errors (a server selection
// or network error, MongoTopologyClosedError), which are mapped as well.
const NOT_IN_6_8 = ['MongoOperationTimeoutError', 'MongoClientClosedError']

describe.each(mongoDrivers)('$name: driver errors become E_STORE_UNAVAILABLE', (driver) => {
  // The pool's error classes are not exported by the package's index; they are the driver's own all the same.
  const cmap = driver.file('lib/cmap/errors.js') as Record<string, new (...args: unknown[]) => Error>
  const pooled = (name: string, ...args: unknown[]) => {
    const Class = cmap[name]
    if (!Class) throw new Error(`${driver.name} has no ${name}`)
    return new Class(...args)
  }
  const pool = { address: '127.0.0.1:27017', serverError: make(driver, 'MongoNetworkError', 'socket closed') }
  const cases: [string, () => Error][] = [
    ['MongoNetworkError', () => make(driver, 'MongoNetworkError', 'connection reset')],
    ['MongoNetworkTimeoutError', () => make(driver, 'MongoNetworkTimeoutError', 'timed out')],
    ['MongoServerSelectionError', () => make(driver, 'MongoServerSelectionError', 'no primary', {})],
    ['MongoTopologyClosedError', () => make(driver, 'MongoTopologyClosedError')],
    ['MongoPoolClearedError', () => pooled('PoolClearedError', pool)],
    ['PoolClearedOnNetworkError', () => pooled('PoolClearedOnNetworkError', pool)],
    [
      'WaitQueueTimeoutError',
      () => pooled('WaitQueueTimeoutError', 'Timed out checking out a connection', pool.address),
    ],
    ['MongoServerClosedError', () => make(driver, 'MongoServerClosedError')],
    ['MongoWriteConcernError (commit wtimeout)', () => unknownCommit(driver)],
    ['a WriteConflict rethrown after the 120 s budget', () => writeConflict(driver)],
    ['an error of no known kind', () => new TypeError('something else')],
    ...(driver.major === 6
      ? []
      : ([
          [
            'MongoOperationTimeoutError',
            () => make(driver, 'MongoOperationTimeoutError', 'Timed out during operation'),
          ],
          ['MongoClientClosedError', () => make(driver, 'MongoClientClosedError')],
        ] as [string, () => Error][])),
  ]

  it.each(cases)('%s', (_label, create) => {
    const error = create()
    const mapped = mapError(error)
    expect(isBulwarkError(mapped, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(mapped.cause).toBe(error)
    expect(mapped.message).toContain(error.message)
    expect(mapped.context.name).toBe(error.name)
  })

  it('has the error classes the mapping names (6.8 lacks only the later ones)', () => {
    const missing = [
      'MongoNetworkError',
      'MongoNetworkTimeoutError',
      'MongoServerSelectionError',
      'MongoTopologyClosedError',
      'MongoServerClosedError',
      'MongoWriteConcernError',
      'MongoServerError',
      ...NOT_IN_6_8,
    ].filter((name) => errorClass(driver, name) === undefined)
    expect(missing).toEqual(driver.major === 6 ? NOT_IN_6_8 : [])
    expect(Object.keys(cmap)).toEqual(
      expect.arrayContaining(['PoolClearedError', 'PoolClearedOnNetworkError', 'WaitQueueTimeoutError']),
    )
  })

  it('reads the labels the driver puts on its errors', () => {
    expect(hasErrorLabel(writeConflict(driver), 'TransientTransactionError')).toBe(true)
    expect(hasErrorLabel(unknownCommit(driver), 'TransientTransactionError')).toBe(false)
    expect((writeConflict(driver) as { code?: unknown }).code).toBe(112)
  })

  it('says that an unknown commit may have happened', () => {
    expect(mapError(unknownCommit(driver)).message).toMatch(/may or may not have been committed/)
    expect(mapError(unknownCommit(driver)).context.labels).toContain('UnknownTransactionCommitResult')
  })
})

describe('toStoreError', () => {
  it('passes Bulwark errors through', () => {
    const own = new BulwarkError('E_WRONG_EXPECTED_VERSION', 'x')
    expect(mapError(own)).toBe(own)
  })
})

describe('checkHello', () => {
  it.each([
    ['a replica set member', { setName: 'rs0', isWritablePrimary: true }],
    ['a mongos', { msg: 'isdbgrid' }],
  ])('accepts %s', (_label, hello) => {
    expect(() => checkHello(hello)).not.toThrow()
  })

  it('calls a standalone server standalone', () => {
    const error = (() => {
      try {
        checkHello({ isWritablePrimary: true } as never)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(MongoReplicaSetRequiredError)
    expect((error as Error).message).toMatch(/standalone mongod/)
  })

  it('calls a --replSet node that was never initiated uninitiated, not standalone', () => {
    expect(() => checkHello({ isreplicaset: true, isWritablePrimary: false } as never)).toThrowError(
      /started with --replSet but its replica set is not initiated: run rs\.initiate\(\)/,
    )
  })
})
