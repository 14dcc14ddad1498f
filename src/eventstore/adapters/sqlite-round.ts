/**
 * Group commit for the SQLite store: the appends made in one tick (by concurrent sagas, aggregates,
 * handlers of one process) are written by one `BEGIN IMMEDIATE` transaction, a round, so they share
 * one commit: one WAL write of the pages they dirtied, where each append alone would write the same
 * hot pages (the table's last page, the indexes' last pages) again. Each append of a round runs in a
 * savepoint and fails alone; a lone append runs in the transaction itself, as before, with no savepoint.
 * Positions stay gap-free and in commit order: a round is one transaction under SQLite's single writer.
 */
import type Database from 'better-sqlite3'
import type { Outcome, RunRound } from '../internal/group-commit.js'
import type { PreparedAppend } from '../internal/index.js'
import type { AppendResult } from '../types.js'

/** Appends per round at most: bounds how long one transaction holds the write lock against other processes. */
export const MAX_ROUND = 100

/**
 * The round function over `db`. `appendOne` checks and writes one append; it runs inside the round's
 * transaction and throws to refuse its append. `appendError` maps what it or the driver threw.
 */
export function roundRunner(
  db: Database.Database,
  appendOne: (append: PreparedAppend) => AppendResult,
  appendError: (error: unknown) => unknown,
): RunRound<PreparedAppend, AppendResult> {
  const single = db.transaction(appendOne).immediate
  // Called inside the round's transaction, a better-sqlite3 transaction function becomes a savepoint.
  const inSavepoint = db.transaction(appendOne)
  const round = db.transaction((appends: readonly PreparedAppend[]) =>
    appends.map((append): Outcome<AppendResult> => {
      try {
        return { ok: true, value: inSavepoint(append) }
      } catch (error) {
        // An I/O error or a full disk can end the whole transaction: then nothing of the round stands.
        if (!db.inTransaction) throw error
        return { ok: false, error: appendError(error) }
      }
    }),
  ).immediate
  return (appends) => {
    try {
      if (appends.length === 1) return [{ ok: true, value: single(appends[0] as PreparedAppend) }]
      return round(appends)
    } catch (error) {
      if (appends.length === 1) return [{ ok: false, error: appendError(error) }]
      throw appendError(error)
    }
  }
}
