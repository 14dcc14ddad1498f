/**
 * SQL of the PostgreSQL event store: schema DDL and the statements the adapter runs.
 *
 * How global positions stay gap-free and in commit order: positions come from a single-row counter
 * table, `positions`. Every write of events (a group-commit round, see `postgres-round.ts`) first
 * locks that row and holds the lock until its transaction ends, so rounds assign positions one
 * transaction at a time, and the next round can only take its positions after the previous one has
 * committed (and become visible) or rolled back. Hence:
 * - positions are assigned in commit order: a reader that sees position p sees every p' < p;
 * - a rolled-back round releases the counter with its positions unused, so there is never a gap.
 * The price is that rounds commit one at a time, each with its WAL flush; what makes it cheap is that
 * one round carries every append its process had waiting (the adapter's header says why this design).
 *
 * Lock order is always: the counter row, then the streams' rows (the optimistic concurrency checks),
 * so two rounds cannot deadlock.
 */
import type { ExpectedVersion } from '../types.js'
import { roundFunctionSql, roundStatement } from './postgres-round.js'

/** The longest schema name accepted: the NOTIFY channel adds a suffix and must fit in 63 bytes. */
export const MAX_SCHEMA_LENGTH = 48

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]*$/

/** Whether `name` is a schema name we accept: lower-case letters, digits and `_`, not too long. */
export function isValidSchemaName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_SCHEMA_LENGTH && SCHEMA_PATTERN.test(name)
}

/**
 * A statement with the name pg prepares it under (once per connection, then only executed).
 * Names are short because PostgreSQL truncates them to 63 bytes, and unique per schema and variant.
 */
export interface Statement {
  readonly name: string
  readonly text: string
}

/** The statements of one schema, built once per store. */
export interface PostgresStatements {
  readonly channel: string
  readonly migrate: string
  /** One group-commit round of appends (see `postgres-round.ts`). */
  readonly round: Statement
  readonly readStreamForwards: Statement
  readonly readStreamBackwards: Statement
  readonly eventsByIds: Statement
  readonly streamVersion: Statement
  readonly headPosition: Statement
  readonly saveSnapshot: Statement
  readonly loadSnapshot: Statement
  readonly loadCheckpoint: Statement
  readonly storeCheckpoint: Statement
  /** The `readAll` query for the filters that are set. */
  readAll(filters: ReadAllFilters): Statement
}

/** How an append claims its stream: one SQL variant per kind of expected version. */
export type AppendMode = 'any' | 'no_stream' | 'stream_exists' | 'exact'

/** The append variant for an expected version. `0` means the stream must not exist, like `'no_stream'`. */
export function appendMode(expected: ExpectedVersion): AppendMode {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected
  return expected === 0 ? 'no_stream' : 'exact'
}

export interface ReadAllFilters {
  types: boolean
  recordedFrom: boolean
  recordedTo: boolean
}

// bigint columns are cast to float8 so pg hands back numbers, not strings. The casts rename nothing, so
// every WHERE and ORDER BY below names the table's column through the alias `e`: an unqualified
// ORDER BY global_position would sort by the float8 output column and lose the index order.
const EVENT_COLUMNS =
  'e.global_position::float8 AS global_position, e.stream_id, e.stream_version::float8 AS stream_version, e.event_id, e.type, e.data, e.metadata, e.recorded_at'

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable tag for statement names. */
function shortHash(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/**
 * Builds every statement for `schema` (already validated with {@link isValidSchemaName}). `notify`
 * only tags the statement names: the store passes the channel to each round, or null.
 */
export function postgresStatements(schema: string, notify: boolean): PostgresStatements {
  const s = `"${schema}"`
  const tag = `bw${shortHash(`${schema}:${notify}`)}`
  const st = (name: string, text: string): Statement => ({ name: `${tag}_${name}`, text })
  const channel = `${schema}_events`

  return {
    channel,
    // Every statement is idempotent, and the whole script runs under an advisory lock so two
    // processes migrating at once do not race on CREATE ... IF NOT EXISTS.
    migrate: `CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.positions (
  id smallint PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
);
INSERT INTO ${s}.positions (id, last) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS ${s}.streams (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.events (
  global_position bigint PRIMARY KEY,
  stream_id text NOT NULL,
  stream_version bigint NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL,
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
  CONSTRAINT events_event_id_key UNIQUE (event_id)
);
CREATE INDEX IF NOT EXISTS events_type_idx ON ${s}.events (type, global_position);
CREATE INDEX IF NOT EXISTS events_recorded_at_idx ON ${s}.events (recorded_at, global_position);
CREATE TABLE IF NOT EXISTS ${s}.snapshots (
  stream_id text PRIMARY KEY,
  stream_version bigint NOT NULL,
  state jsonb NOT NULL,
  schema_version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
  subscription_id text PRIMARY KEY,
  position bigint NOT NULL
);
${roundFunctionSql(s)}`,
    round: roundStatement(s, `${tag}_round`),
    readStreamForwards: st(
      'readStreamForwards',
      `SELECT ${EVENT_COLUMNS} FROM ${s}.events e
      WHERE e.stream_id = $1 AND e.stream_version >= $2 ORDER BY e.stream_version LIMIT $3`,
    ),
    readStreamBackwards: st(
      'readStreamBackwards',
      `SELECT ${EVENT_COLUMNS} FROM ${s}.events e
      WHERE e.stream_id = $1 AND e.stream_version <= $2 ORDER BY e.stream_version DESC LIMIT $3`,
    ),
    eventsByIds: st('eventsByIds', `SELECT ${EVENT_COLUMNS} FROM ${s}.events e WHERE e.event_id = ANY($1::uuid[])`),
    streamVersion: st('streamVersion', `SELECT version::float8 AS version FROM ${s}.streams WHERE stream_id = $1`),
    headPosition: st('headPosition', `SELECT last::float8 AS last FROM ${s}.positions WHERE id = 1`),
    saveSnapshot: st(
      'saveSnapshot',
      `INSERT INTO ${s}.snapshots (stream_id, stream_version, state, schema_version)
      VALUES ($1, $2, $3::jsonb, $4)
      ON CONFLICT (stream_id) DO UPDATE SET stream_version = EXCLUDED.stream_version,
        state = EXCLUDED.state, schema_version = EXCLUDED.schema_version`,
    ),
    loadSnapshot: st(
      'loadSnapshot',
      `SELECT stream_version::float8 AS stream_version, state, schema_version
      FROM ${s}.snapshots WHERE stream_id = $1`,
    ),
    loadCheckpoint: st(
      'loadCheckpoint',
      `SELECT position::float8 AS position FROM ${s}.checkpoints WHERE subscription_id = $1`,
    ),
    storeCheckpoint: st(
      'storeCheckpoint',
      `INSERT INTO ${s}.checkpoints (subscription_id, position) VALUES ($1, $2)
      ON CONFLICT (subscription_id) DO UPDATE SET position = EXCLUDED.position`,
    ),
    readAll(filters) {
      // $1 after, $2 limit; the optional filters take the next parameters in this order.
      const where = ['e.global_position > $1']
      let n = 2
      if (filters.types) where.push(`e.type = ANY($${++n}::text[])`)
      if (filters.recordedFrom) where.push(`e.recorded_at >= $${++n}::timestamptz`)
      if (filters.recordedTo) where.push(`e.recorded_at < $${++n}::timestamptz`)
      const key = `${+filters.types}${+filters.recordedFrom}${+filters.recordedTo}`
      return st(
        `readAll${key}`,
        `SELECT ${EVENT_COLUMNS} FROM ${s}.events e WHERE ${where.join(' AND ')} ORDER BY e.global_position LIMIT $2`,
      )
    },
  }
}
