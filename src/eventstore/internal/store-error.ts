import { BulwarkError, isBulwarkError } from '../../core/errors.js'

/** What a store was doing when its driver failed: SQLite names it in its messages. */
export type StoreOperation = 'open' | 'migrate' | 'append' | 'read' | 'write'

/** How a backend reads an error of its driver. */
export interface DriverFailure {
  /** What the failure means for the caller. @default 'E_STORE_UNAVAILABLE' */
  code?: 'E_STORE_UNAVAILABLE' | 'E_INVALID_EVENT'
  message: string
  context?: Record<string, unknown>
}

/** A backend's reading of its driver's errors (pure: recognises them by shape, loads no driver). */
export type DescribeFailure = (error: unknown, operation: StoreOperation) => DriverFailure

/**
 * Every error a store's caller gets is a Bulwark error: ours (validation, versions, a closed store) pass
 * through; one from a driver or a server becomes the error `describe` reads in it, with the driver's
 * error as `cause`.
 */
export function toStoreError(error: unknown, describe: DescribeFailure, operation: StoreOperation): BulwarkError {
  if (isBulwarkError(error)) return error
  const { code = 'E_STORE_UNAVAILABLE', message, context } = describe(error, operation)
  return new BulwarkError(code, message, context === undefined ? { cause: error } : { cause: error, context })
}
