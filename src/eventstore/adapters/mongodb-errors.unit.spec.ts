import { createRequire } from 'node:module'
import {
  MongoClientClosedError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb'
import { describe, expect, it } from 'vitest'
import { BulwarkError, isBulwarkError } from '../../core/errors.js'
import { toStoreError } from '../internal/index.js'
import { checkHello, describeMongoError, MongoReplicaSetRequiredError } from './mongodb-errors.js'

// What the store does with a driver error: describeMongoError read by the one toStoreError.
const mapError = (error: unknown) => toStoreError(error, describeMongoError, 'append')

// The pool's error classes are not exported by the package's index; they are the driver's own all the same.
const cmap = createRequire(import.meta.url)('mongodb/lib/cmap/errors.js') as {
  PoolClearedError: new (pool: object) => Error
  PoolClearedOnNetworkError: new (pool: object) => Error
  WaitQueueTimeoutError: new (message: string, address: string) => Error
}
const pool = { address: '127.0.0.1:27017', serverError: new MongoNetworkError('socket closed') }

function writeConflict(): MongoServerError {
  const error = new MongoServerError({
    code: 112,
    codeName: 'WriteConflict',
    errmsg: 'Write conflict during plan execution',
  })
  error.addErrorLabel(MongoErrorLabel.TransientTransactionError)
  return error
}

function unknownCommit(): MongoWriteConcernError {
  const error = new MongoWriteConcernError({
    writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out' },
  } as never)
  error.addErrorLabel(MongoErrorLabel.UnknownTransactionCommitResult)
  return error
}

describe('MongoDB driver errors become E_STORE_UNAVAILABLE', () => {
  it.each<[string, () => Error]>([
    ['MongoNetworkError', () => new MongoNetworkError('connection reset')],
    ['MongoNetworkTimeoutError', () => new MongoNetworkTimeoutError('timed out')],
    ['MongoServerSelectionError', () => new MongoServerSelectionError('no primary', {} as never)],
    ['MongoTopologyClosedError', () => new MongoTopologyClosedError()],
    ['MongoPoolClearedError', () => new cmap.PoolClearedError(pool)],
    ['PoolClearedOnNetworkError', () => new cmap.PoolClearedOnNetworkError(pool)],
    [
      'WaitQueueTimeoutError',
      () => new cmap.WaitQueueTimeoutError('Timed out while checking out a connection', pool.address),
    ],
    ['MongoOperationTimeoutError', () => new MongoOperationTimeoutError('Timed out during operation')],
    ['MongoServerClosedError', () => new MongoServerClosedError()],
    ['MongoClientClosedError', () => new MongoClientClosedError()],
    ['MongoWriteConcernError (commit wtimeout)', unknownCommit],
    ['a WriteConflict rethrown after the 120 s budget', writeConflict],
    ['an error of no known kind', () => new TypeError('something else')],
  ])('%s', (_label, make) => {
    const error = make()
    const mapped = mapError(error)
    expect(isBulwarkError(mapped, 'E_STORE_UNAVAILABLE')).toBe(true)
    expect(mapped.cause).toBe(error)
    expect(mapped.message).toContain(error.message)
    expect(mapped.context.name).toBe(error.name)
  })

  it('says that an unknown commit may have happened', () => {
    expect(mapError(unknownCommit()).message).toMatch(/may or may not have been committed/)
    expect(mapError(unknownCommit()).context.labels).toContain('UnknownTransactionCommitResult')
  })

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
