import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { BulwarkError, isBulwarkError } from '../../core/errors.js'
import { toStoreError } from '../internal/index.js'
import { describePostgresError } from './postgres-rows.js'

// What the store does with a driver error: describePostgresError read by the one toStoreError.
const mapError = (error: unknown) => toStoreError(error, describePostgresError, 'read')

function databaseError(code: string, message = 'failed'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error')
  error.code = code
  return error
}

// The driver's own error class, as the server's answers produce it: no server needed.
describe('toStoreError', () => {
  it.each([
    [
      'a refused connection',
      'E_STORE_UNAVAILABLE',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    ['an admin shutdown', 'E_STORE_UNAVAILABLE', databaseError('57P01')],
    ['a connection failure', 'E_STORE_UNAVAILABLE', databaseError('08006')],
    ['U+0000 in jsonb', 'E_INVALID_EVENT', databaseError('22P05')],
    ['a missing table (someone dropped the schema)', 'E_STORE_UNAVAILABLE', databaseError('42P01')],
    ['a disk full', 'E_STORE_UNAVAILABLE', databaseError('53100')],
    ['a raw error without a code', 'E_STORE_UNAVAILABLE', new Error('Connection terminated unexpectedly')],
  ])('turns %s into %s, keeping the cause', (_label, code, error) => {
    const mapped = mapError(error)
    expect(isBulwarkError(mapped, code as Parameters<typeof isBulwarkError>[1])).toBe(true)
    expect((mapped as Error).cause).toBe(error)
  })

  it('passes Bulwark errors through', () => {
    const own = new BulwarkError('E_WRONG_EXPECTED_VERSION', 'x')
    expect(mapError(own)).toBe(own)
  })
})
