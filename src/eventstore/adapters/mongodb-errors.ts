/**
 * How the MongoDB store turns what the server and the driver say into Bulwark errors. Pure functions:
 * errors are recognised by shape (name, code, labels), not with `instanceof`, so errors from a client
 * of another installed copy of the driver are recognised too, and nothing here loads the driver.
 */
import { BulwarkError } from '../../core/errors.js'
import type { DescribeFailure } from '../internal/index.js'

/**
 * Thrown on first use (and by `watch`) when the server cannot run transactions: a standalone `mongod`,
 * or a node started with `--replSet` whose replica set was never initiated. A single-node replica set
 * (`mongod --replSet rs0`, then `rs.initiate()`) is enough for development.
 */
export class MongoReplicaSetRequiredError extends BulwarkError {
  constructor(reason: 'standalone' | 'uninitiated' = 'standalone') {
    super(
      'E_REPLICA_SET_REQUIRED',
      reason === 'uninitiated'
        ? 'The MongoDB event store needs a replica set, and this server was started with --replSet but its replica set is not initiated: run rs.initiate() once.'
        : 'The MongoDB event store needs a replica set or a sharded cluster (it appends in multi-document transactions), but the server is a standalone mongod. For development, start mongod with --replSet rs0 and run rs.initiate().',
      { context: { reason } },
    )
  }
}

/** What `hello` answers, as far as the store cares. */
export interface HelloReply {
  setName?: unknown
  msg?: unknown
  isreplicaset?: unknown
}

/** Throws unless the server runs transactions: a replica set member (it names its set) or a mongos. */
export function checkHello(hello: HelloReply): void {
  if (typeof hello.setName === 'string' || hello.msg === 'isdbgrid') return
  // A node started with --replSet answers `isreplicaset: true` until rs.initiate() gives it a set.
  throw new MongoReplicaSetRequiredError(hello.isreplicaset === true ? 'uninitiated' : 'standalone')
}

/** The server's code for a unique index refusing a write. */
export const DUPLICATE_KEY = 11000

/** The server error code of a driver error (11000 duplicate key, 112 WriteConflict...). */
export function serverCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code
}

/** Whether a driver error carries `label` (`TransientTransactionError`, `UnknownTransactionCommitResult`). */
export function hasErrorLabel(error: unknown, label: string): boolean {
  const e = error as { hasErrorLabel?: (l: string) => boolean; errorLabels?: unknown } | null
  if (typeof e?.hasErrorLabel === 'function') return e.hasErrorLabel(label)
  return Array.isArray(e?.errorLabels) && e.errorLabels.includes(label)
}

/**
 * How anything from the driver or the server reaches the caller (through `toStoreError`, which lets
 * Bulwark errors pass): unreachable, pool cleared, wait-queue or operation timeout, client or server
 * closed, a write-concern timeout on commit, a WriteConflict that outlived `withTransaction`'s 120 s,
 * all are `E_STORE_UNAVAILABLE`, with the driver's error as `cause` and its name, code and labels in
 * `context`.
 */
export const describeMongoError: DescribeFailure = (error) => {
  const e = error as { name?: unknown; message?: unknown; errorLabels?: unknown } | null
  const name = typeof e?.name === 'string' ? e.name : 'Error'
  const message = typeof e?.message === 'string' ? e.message : String(error)
  const labels = Array.isArray(e?.errorLabels) ? e.errorLabels : []
  const outcome = hasErrorLabel(error, 'UnknownTransactionCommitResult')
    ? ' (the append may or may not have been committed: re-send it with the same event ids)'
    : ''
  return {
    message: `MongoDB failed: ${name}: ${message}${outcome}`,
    context: { name, code: serverCode(error), labels },
  }
}
