/**
 * The SQL of one group-commit round of the PostgreSQL store: a function, created by the migration,
 * that writes a whole round of appends in the one transaction of the statement that calls it.
 *
 * - The counter row of `positions` is locked FIRST (`FOR UPDATE`) and held until the round commits:
 *   rounds, from this process or any other, take their positions one at a time and in commit order,
 *   exactly as single appends did (see `postgres-sql.ts`). Taking it first, before any stream row, is
 *   what keeps two rounds of different processes from deadlocking (each round claims several streams;
 *   with the counter taken after the first claim, round A could hold the counter waiting for stream S
 *   while round B holds S waiting for the counter).
 * - Each append runs in its own `BEGIN ... EXCEPTION` block, a subtransaction: a duplicate event id or
 *   a value PostgreSQL refuses rolls back that append alone; a wrong expected version writes nothing
 *   for it (its claim returns no row). The others of the round commit.
 * - Positions are numbered from the counter in the order of the round, the counter is written once,
 *   and one NOTIFY tells listeners of other processes. One commit, so one WAL flush, for the round.
 *
 * Parameters, one array element per append: $1 stream ids, $2 modes (`AppendMode`), $3 expected
 * versions (null unless mode `exact`), $4 the events as JSON arrays (text, parsed per append so that
 * JSON jsonb cannot hold fails that append only), $5 recorded-at times; $6 the NOTIFY channel or null.
 * One row per append: `idx` (1-based), then either the stream's new version and the last position, or
 * no version (the claim failed: expected version or an id already stored; the caller looks closer),
 * or an error's SQLSTATE and message.
 */
import type { Statement } from './postgres-sql.js'

/** The migration's part for rounds: (re)creates the function, so a store of an older version gets it too. */
export function roundFunctionSql(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.append_round(
  stream_ids text[], modes text[], expected bigint[], batches text[], recorded timestamptz[], channel text
) RETURNS TABLE (idx int, new_version float8, new_last float8, err_code text, err_message text)
LANGUAGE plpgsql AS $fn$
DECLARE
  head bigint;
  start bigint;
  n bigint;
  claimed bigint;
BEGIN
  SELECT p.last INTO head FROM ${s}.positions p WHERE p.id = 1 FOR UPDATE;
  start := head;
  FOR k IN 1 .. coalesce(array_length(stream_ids, 1), 0) LOOP
    idx := k; new_version := NULL; new_last := NULL; err_code := NULL; err_message := NULL;
    BEGIN
      n := jsonb_array_length(batches[k]::jsonb);
      claimed := NULL;
      CASE modes[k]
        WHEN 'any' THEN
          INSERT INTO ${s}.streams AS t (stream_id, version) VALUES (stream_ids[k], n)
          ON CONFLICT (stream_id) DO UPDATE SET version = t.version + EXCLUDED.version RETURNING t.version INTO claimed;
        WHEN 'no_stream' THEN
          INSERT INTO ${s}.streams AS t (stream_id, version) VALUES (stream_ids[k], n)
          ON CONFLICT (stream_id) DO NOTHING RETURNING t.version INTO claimed;
        WHEN 'stream_exists' THEN
          UPDATE ${s}.streams t SET version = t.version + n WHERE t.stream_id = stream_ids[k] RETURNING t.version INTO claimed;
        ELSE
          UPDATE ${s}.streams t SET version = t.version + n
          WHERE t.stream_id = stream_ids[k] AND t.version = expected[k] RETURNING t.version INTO claimed;
      END CASE;
      IF claimed IS NOT NULL THEN
        INSERT INTO ${s}.events (global_position, stream_id, stream_version, event_id, type, data, metadata, recorded_at)
        SELECT head + e.ord, stream_ids[k], claimed - n + e.ord, (e.doc->>'id')::uuid, e.doc->>'type',
          e.doc->'data', e.doc->'metadata', recorded[k]
        FROM jsonb_array_elements(batches[k]::jsonb) WITH ORDINALITY AS e(doc, ord);
        head := head + n;
        new_version := claimed;
        new_last := head;
      END IF;
    EXCEPTION
      WHEN unique_violation THEN NULL;
      WHEN OTHERS THEN err_code := SQLSTATE; err_message := SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
  IF head > start THEN
    UPDATE ${s}.positions SET last = head WHERE id = 1;
    IF channel IS NOT NULL THEN PERFORM pg_notify(channel, head::text); END IF;
  END IF;
END
$fn$;`
}

/** The statement that runs one round (autocommit: the statement's transaction is the round's). */
export function roundStatement(s: string, name: string): Statement {
  return {
    name,
    text: `SELECT idx, new_version, new_last, err_code, err_message
FROM ${s}.append_round($1::text[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text)`,
  }
}

/** A row the round answers for one append. */
export interface RoundRow {
  idx: number
  new_version: number | null
  new_last: number | null
  err_code: string | null
  err_message: string | null
}
