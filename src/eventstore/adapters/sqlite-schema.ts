/**
 * SQL of the SQLite event store. Kept apart from the adapter so the adapter file reads as behaviour;
 * the statements are prepared once per store.
 */

/** Tables and indexes, created on open. Every statement is idempotent, so opening is the migration. */
export function schemaSql(p: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}events (
  position INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  stream_id TEXT NOT NULL,
  stream_version INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS ${p}events_by_type ON ${p}events (type, position);
CREATE INDEX IF NOT EXISTS ${p}events_by_recorded_at ON ${p}events (recorded_at, position);
CREATE TABLE IF NOT EXISTS ${p}snapshots (
  stream_id TEXT PRIMARY KEY,
  stream_version INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${p}checkpoints (
  subscription_id TEXT PRIMARY KEY,
  position INTEGER NOT NULL
);`
}

/** The columns of a read, named as `StoredRow` fields so rows need no mapping. */
const COLUMNS = `event_id AS id, type, data AS dataJson, metadata AS metadataJson, stream_id AS streamId,
  stream_version AS streamVersion, position AS globalPosition, recorded_at AS recordedAt`

/** Statements that do not depend on the read filters. */
export function statementsSql(p: string) {
  return {
    // No position: SQLite gives the row max(position) + 1.
    insert: `INSERT INTO ${p}events (event_id, stream_id, stream_version, type, data, metadata, recorded_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
    findById: `SELECT stream_id AS streamId, stream_version AS streamVersion, position AS globalPosition
      FROM ${p}events WHERE event_id = ?`,
    streamVersion: `SELECT coalesce(max(stream_version), 0) AS v FROM ${p}events WHERE stream_id = ?`,
    head: `SELECT coalesce(max(position), 0) AS v FROM ${p}events`,
    readForwards: `SELECT ${COLUMNS} FROM ${p}events
      WHERE stream_id = ? AND stream_version >= ? ORDER BY stream_version LIMIT ?`,
    readBackwards: `SELECT ${COLUMNS} FROM ${p}events
      WHERE stream_id = ? AND stream_version <= ? ORDER BY stream_version DESC LIMIT ?`,
    saveSnapshot: `INSERT INTO ${p}snapshots (stream_id, stream_version, schema_version, state) VALUES (?, ?, ?, ?)
      ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version,
        schema_version = excluded.schema_version, state = excluded.state`,
    loadSnapshot: `SELECT stream_id AS streamId, stream_version AS streamVersion, schema_version AS schemaVersion, state
      FROM ${p}snapshots WHERE stream_id = ?`,
    storeCheckpoint: `INSERT INTO ${p}checkpoints (subscription_id, position) VALUES (?, ?)
      ON CONFLICT (subscription_id) DO UPDATE SET position = excluded.position`,
    loadCheckpoint: `SELECT position AS v FROM ${p}checkpoints WHERE subscription_id = ?`,
  }
}

/** Which filters a readAll uses: each combination gets its own prepared statement, so SQLite can use the indexes. */
export interface ReadAllShape {
  types: boolean
  from: boolean
  to: boolean
}

/** `readAll` SQL for one combination of filters. Parameters: after, [types JSON], [from], [to], limit. */
export function readAllSql(p: string, shape: ReadAllShape): string {
  const where = [`position > ?`]
  if (shape.types) where.push('type IN (SELECT value FROM json_each(?))')
  if (shape.from) where.push('recorded_at >= ?')
  if (shape.to) where.push('recorded_at < ?')
  return `SELECT ${COLUMNS} FROM ${p}events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`
}
