/**
 * `npm run bench:eventstore`: the SQLite and PostgreSQL event stores against their raw drivers doing
 * the same writes and reads, with the same durability, in the same run.
 *
 * Writes `bench/results/eventstore.json` with, for "sqlite" and "postgres" (target: every ratio >= 0.7):
 * - append_1_vs_raw, append_10_vs_raw: our appends per second / the raw driver's, for 1 and 10 events;
 * - read_all_vs_raw: our `readAll` pages of 1,000 per second / the raw driver's;
 * - append_events_per_s (from the 10-event appends), read_events_per_s (from the 1,000-event pages).
 * Ratios are medians of interleaved rounds (see "Paired" below); mitata's table and its ratios are kept too.
 *
 * What "raw" does, precisely:
 * - SQLite: better-sqlite3 on its own file, with the adapter's pragmas (WAL, synchronous = NORMAL) and
 *   the adapter's table and indexes; per append, one `db.transaction(...).immediate` running one
 *   prepared INSERT per event, with a random UUID and JSON.stringify'd data and metadata (the same
 *   payload). Reads: the same SELECT of a page of 1,000 by position, plus JSON.parse of data and
 *   metadata for each row (what any user of the rows must do).
 * - PostgreSQL: pg on its own schema with the adapter's tables and indexes (so index upkeep costs the
 *   same); per append, ONE statement in autocommit (an implicit transaction, one round trip and one
 *   WAL flush, like ours): a CTE that bumps the position counter row (`UPDATE positions SET last =
 *   last + n RETURNING last`) and INSERTs the n events as a VALUES list of parameters, prepared once.
 *   It does not keep a stream version row: that is the optimistic-concurrency work raw does not do.
 *   Reads: `SELECT * ... WHERE global_position > $1 ORDER BY global_position LIMIT 1000`, prepared.
 *
 * Concurrent appenders (`concurrent_8`: 8 appenders in this process; `processes_4x2`: 4 child processes of
 * 2 appenders, `eventstore-worker.ts`), each appending one event at a time to its own stream with its
 * expected version. For PostgreSQL, `ratios.*_vs_raw_identity` (target >= 0.8) compare ours with raw
 * INSERTs that take positions from an identity column: no counter row, so they commit (and flush) in
 * parallel, but positions are neither gap-free nor in commit order. The price of the guarantee.
 *
 * `peers.emmett`: Emmett's PostgreSQL and SQLite event stores (`@event-driven-io/emmett-postgresql`,
 * `-sqlite`) on the same database and disk, the same events: append 1, append 10, read all (its
 * `readMessagesBatch`, pages of 1,000), 8 concurrent appenders, 4 processes x 2. Ratios are our
 * throughput / Emmett's (goal > 1). Emmett's PostgreSQL tables go to a schema of this run through the
 * connection's search_path. Emmett's SQLite store is measured only when installed (see EMMETT_SQLITE_MISSING).
 *
 * PostgreSQL is DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in schemas of this run,
 * dropped at the end. SQLite files go to the OS temp folder and are deleted.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { bench, do_not_optimize, run } from 'mitata'
import pg from 'pg'
import { postgresEventStore } from '../src/eventstore/adapters/postgres.js'
import { sqliteEventStore, timeOrderedId } from '../src/eventstore/adapters/sqlite.js'
import { schemaSql } from '../src/eventstore/adapters/sqlite-schema.js'
import type { NewEvent } from '../src/eventstore/types.js'
import {
  type AppenderKind,
  type AppenderSet,
  type AppenderTarget,
  appender,
  appendsPerSecond,
  batch,
  createRawTables,
  openAppenders,
  peerFailures,
} from './eventstore-appenders.js'
import { type EmmettReader, emmettReader } from './eventstore-emmett.js'
import { processesAppendsPerSecond } from './eventstore-processes.js'
import { median } from './rounds.js'

const installedVersion = (name: string): string | undefined => {
  try {
    const json = readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')
    return (JSON.parse(json) as { version: string }).version
  } catch {
    return undefined
  }
}
const EMMETT_VERSIONS = {
  postgres: installedVersion('@event-driven-io/emmett-postgresql'),
  sqlite: installedVersion('@event-driven-io/emmett-sqlite'),
}
// Emmett's SQLite store is not a dev dependency: it asks for emmett 0.42.4, which the registry does not
// have, so it installs only with --legacy-peer-deps, and it needs the sqlite3 driver. Measured when present.
const EMMETT_SQLITE_MISSING =
  'not installed: npm install --no-save --legacy-peer-deps @event-driven-io/emmett-sqlite sqlite3'
const peerAdapters = EMMETT_VERSIONS.sqlite ? (['sqlite', 'postgres'] as const) : (['postgres'] as const)
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const RUN = `${process.pid}_${Date.now().toString(36)}`
const PAGE = 1_000
const PRELOAD = 20_000

/** What raw drivers store for the same event: the metadata the store fills in included, so sizes match. */
const rawMetadata = (i: number) =>
  JSON.stringify({ correlationId: `c-${i}`, schemaVersion: 1, occurredAt: new Date().toISOString() })
const randomAfter = () => Math.floor(Math.random() * (PRELOAD - PAGE))

// --- SQLite ------------------------------------------------------------------------------------------
const tmp = join(os.tmpdir(), `bulwark-bench-${RUN}`)
mkdirSync(tmp, { recursive: true })
const sqliteStore = sqliteEventStore({ path: join(tmp, 'ours.db') })
const rawDb = new Database(join(tmp, 'raw.db'))
rawDb.pragma('journal_mode = WAL')
rawDb.pragma('synchronous = NORMAL')
rawDb.exec(schemaSql('raw_'))
const rawInsert = rawDb.prepare(
  `INSERT INTO raw_events (event_id, stream_id, stream_version, type, data, metadata, recorded_at)
   VALUES (?, ?, ?, ?, ?, ?, ?)`,
)
const rawSelect = rawDb.prepare(
  `SELECT event_id, stream_id, stream_version, position, type, data, metadata, recorded_at
   FROM raw_events WHERE position > ? ORDER BY position LIMIT ?`,
)
function rawSqliteAppender(stream: string, size: number) {
  let version = 0
  const write = rawDb.transaction((events: NewEvent[]) => {
    const now = Date.now()
    // The same time-ordered ids the adapter generates, so both sides touch the id index alike.
    for (const e of events)
      rawInsert.run(
        timeOrderedId(randomUUID(), now),
        stream,
        ++version,
        e.type,
        JSON.stringify(e.data),
        rawMetadata(version),
        now,
      )
  }).immediate
  let i = 0
  return async () => {
    write(batch(size, i))
    i += size
  }
}
const rawSqliteRead = (after: number) =>
  (rawSelect.all(after, PAGE) as { data: string; metadata: string }[]).map((row) => ({
    ...row,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
  }))

// Both hold PRELOAD events before the reads.
const preloadSqlite = appender(sqliteStore, 'preload', 1_000)
const preloadRawSqlite = rawSqliteAppender('preload', 1_000)
for (let i = 0; i < PRELOAD / 1_000; i++) {
  await preloadSqlite()
  await preloadRawSqlite()
}

// --- PostgreSQL ---------------------------------------------------------------------------------------
const oursSchema = `bench_es_${RUN}`
const rawSchema = `bench_raw_${RUN}`
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
const pgStore = postgresEventStore({ connectionString: DATABASE_URL, schema: oursSchema })
await pgStore.migrate()
const rawPool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
await createRawTables(rawPool, rawSchema)

/** `size` rows of parameters ($first...) for stream $1 and recorded-at $2, each prefixed by `position(k)`. */
function valuesRows(size: number, first: number, position: (k: number) => string): string {
  return Array.from({ length: size }, (_, k) => {
    const p = first + k * 5
    return `(${position(k)}$1::text, $${p}::bigint, $${p + 1}::uuid, $${p + 2}::text, $${p + 3}::jsonb, $${p + 4}::jsonb, $2::timestamptz)`
  }).join(', ')
}
const COLUMNS = 'stream_id, stream_version, event_id, type, data, metadata, recorded_at'

/**
 * A raw appender of `size` events per statement. With the counter: one CTE that bumps the counter row
 * and inserts the rows with the positions it returned ($3 = size). Without: a plain multi-row INSERT
 * into the table whose positions come from an identity column.
 */
function rawPgAppender(stream: string, size: number, counter = true) {
  const text = counter
    ? `WITH pos AS (UPDATE "${rawSchema}".positions SET last = last + $3::bigint WHERE id = 1 RETURNING last)
       INSERT INTO "${rawSchema}".events (global_position, ${COLUMNS})
       SELECT v.* FROM pos, LATERAL (VALUES ${valuesRows(size, 4, (k) => `pos.last - ${size - 1 - k}, `)}) AS v`
    : `INSERT INTO "${rawSchema}".events_identity (${COLUMNS}) VALUES ${valuesRows(size, 3, () => '')}`
  const name = `raw_${size}_${counter}`
  let version = 0
  let i = 0
  return async () => {
    const values: unknown[] = [stream, new Date().toISOString()]
    if (counter) values.push(size)
    for (const e of batch(size, i)) {
      version++
      values.push(version, randomUUID(), e.type, JSON.stringify(e.data), rawMetadata(version))
    }
    await rawPool.query({ name, text, values })
    i += size
  }
}
const rawPgRead = async (after: number) =>
  (
    await rawPool.query({
      name: 'raw_read_all',
      text: `SELECT * FROM "${rawSchema}".events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      values: [after, PAGE],
    })
  ).rows

const preloadPg = appender(pgStore, 'preload', 1_000)
const preloadRawPg = rawPgAppender('preload', 1_000)
for (let i = 0; i < PRELOAD / 1_000; i++) {
  await preloadPg()
  await preloadRawPg()
}

// --- Emmett, on the same PostgreSQL (a schema of this run) and the same disk ---------------------------------
const emmettPgTarget: AppenderTarget = { databaseUrl: DATABASE_URL, schema: `bench_emmett_${RUN}`, file: '' }
await admin.query(`CREATE SCHEMA "${emmettPgTarget.schema}"`)
const emmettSqliteTarget: AppenderTarget = { databaseUrl: '', schema: '', file: join(tmp, 'emmett.db') }
const emmett: Partial<Record<'sqlite' | 'postgres', AppenderSet>> = {
  postgres: await openAppenders('emmett-pg', emmettPgTarget, 10),
}
const emmettRead: Partial<Record<'sqlite' | 'postgres', EmmettReader>> = {
  postgres: await emmettReader('emmett-pg', emmettPgTarget),
}
if (EMMETT_VERSIONS.sqlite) {
  emmett.sqlite = await openAppenders('emmett-sqlite', emmettSqliteTarget, 1)
  emmettRead.sqlite = await emmettReader('emmett-sqlite', emmettSqliteTarget)
}
for (const peer of Object.values(emmett)) {
  const preload = peer.make('preload', 1_000)
  for (let i = 0; i < PRELOAD / 1_000; i++) await preload()
}

// --- The benchmarks: each pair runs back to back, ours then raw -----------------------------------------
const suites = {
  sqlite: {
    append_1: [appender(sqliteStore, 'one', 1), rawSqliteAppender('one', 1)],
    append_10: [appender(sqliteStore, 'ten', 10), rawSqliteAppender('ten', 10)],
    read_all: [
      () => sqliteStore.readAll({ after: randomAfter(), maxCount: PAGE }),
      async () => rawSqliteRead(randomAfter()),
    ],
  },
  postgres: {
    append_1: [appender(pgStore, 'one', 1), rawPgAppender('one', 1)],
    append_10: [appender(pgStore, 'ten', 10), rawPgAppender('ten', 10)],
    read_all: [() => pgStore.readAll({ after: randomAfter(), maxCount: PAGE }), () => rawPgRead(randomAfter())],
  },
} as const
for (const [adapter, cases] of Object.entries(suites)) {
  for (const [name, [ours, raw]] of Object.entries(cases)) {
    bench(`${adapter} ${name} bulwark`, async () => do_not_optimize(await ours()))
    bench(`${adapter} ${name} raw`, async () => do_not_optimize(await raw()))
  }
}
const { benchmarks } = await run({ format: 'mitata' })
const time = new Map<string, { p50: number; avg: number }>()
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats
  if (stats) time.set(trial.alias, { p50: stats.p50, avg: stats.avg })
}
const t = (alias: string, field: 'p50' | 'avg' = 'p50') => {
  const value = time.get(alias)?.[field]
  if (value === undefined) throw new Error(`missing benchmark ${alias}`)
  return value
}
const round2 = (n: number) => Math.round(n * 100) / 100
/** Our throughput over raw's = raw time per call / our time per call. */
const vsRaw = (adapter: string, name: string, field: 'p50' | 'avg' = 'p50') =>
  round2(t(`${adapter} ${name} raw`, field) / t(`${adapter} ${name} bulwark`, field))

// --- Paired, interleaved rounds: the ratios of record ---------------------------------------------------
// mitata runs one benchmark to the end, then the next: on this shared machine the load shifts between
// them, and whichever of a pair runs first pays for JIT warm-up and the GC debt of what ran before
// (measured on the PostgreSQL read: ours first gave ours 29 ms / raw 14 ms; raw first gave raw 39 ms /
// ours 36 ms). So each pair is measured again in alternating short rounds (ours then raw, raw then
// ours, ...), and the ratio reported is the median of the per-round ratios.
async function msPerCall(call: () => Promise<unknown>, calls: number): Promise<number> {
  const started = performance.now()
  for (let k = 0; k < calls; k++) await call()
  return (performance.now() - started) / calls
}
interface Paired {
  ratio: number
  oursMs: number
  otherMs: number
}
/** Ours against `other` (raw or a peer) in alternating rounds; ratio = our throughput / theirs. */
async function paired(
  ours: () => Promise<unknown>,
  other: () => Promise<unknown>,
  calls: number,
  rounds = 15,
): Promise<Paired> {
  const ratios: number[] = []
  const oursTimes: number[] = []
  const otherTimes: number[] = []
  for (let round = 0; round < rounds; round++) {
    const [first, second] = round % 2 === 0 ? [ours, other] : [other, ours]
    const a = await msPerCall(first, calls)
    const b = await msPerCall(second, calls)
    const [oursMs, otherMs] = round % 2 === 0 ? [a, b] : [b, a]
    ratios.push(otherMs / oursMs)
    oursTimes.push(oursMs)
    otherTimes.push(otherMs)
  }
  return { ratio: round2(median(ratios)), oursMs: median(oursTimes), otherMs: median(otherTimes) }
}
const CALLS_PER_ROUND = {
  sqlite: { append_1: 400, append_10: 100, read_all: 10 },
  postgres: { append_1: 20, append_10: 20, read_all: 5 },
} as const
const pairedResults: Record<string, Record<string, Paired>> = {}
for (const [adapter, cases] of Object.entries(suites)) {
  pairedResults[adapter] = {}
  for (const [name, [ours, raw]] of Object.entries(cases)) {
    const calls = CALLS_PER_ROUND[adapter as keyof typeof CALLS_PER_ROUND][name as 'append_1']
    ;(pairedResults[adapter] as Record<string, Paired>)[name] = await paired(ours, raw, calls)
  }
}
const pair = (adapter: string, name: string) => pairedResults[adapter]?.[name] as Paired
const perSecond = (adapter: string, name: string, events: number) =>
  Math.round((events * 1000) / pair(adapter, name).oursMs)

// --- Ours against Emmett: the same paired rounds (9 of them), ours on streams of their own -----------------
const oursStore = { sqlite: sqliteStore, postgres: pgStore } as const
const emmettPairs: Record<string, Record<string, Paired>> = {}
for (const adapter of peerAdapters) {
  const calls = CALLS_PER_ROUND[adapter]
  const store = oursStore[adapter]
  const peer = emmett[adapter] as AppenderSet
  const reader = emmettRead[adapter] as EmmettReader
  emmettPairs[adapter] = {
    append_1: await paired(appender(store, 'vs-emmett-one', 1), peer.make('one', 1), calls.append_1, 9),
    append_10: await paired(appender(store, 'vs-emmett-ten', 10), peer.make('ten', 10), calls.append_10, 9),
    read_all: await paired(
      () => store.readAll({ after: randomAfter(), maxCount: PAGE }),
      () => reader.readAll(randomAfter(), PAGE),
      calls.read_all,
      9,
    ),
  }
}

// --- Concurrent appenders: 8 in one process, and 4 processes of 2 -------------------------------------------
// Each appender appends one event at a time to its own stream with its expected version. "raw identity"
// is the raw driver inserting into a table whose positions come from an identity column: no counter row,
// so its commits run (and flush) in parallel, but positions are neither gap-free nor in commit order.
const PER_APPENDER = { postgres: 150, sqlite: 1_500 }
const PER_PROCESS_APPENDER = { postgres: 300, sqlite: 1_500 }
const rawTarget: AppenderTarget = { databaseUrl: DATABASE_URL, schema: rawSchema, file: '' }
const targets: Record<AppenderKind, AppenderTarget> = {
  'bulwark-pg': { databaseUrl: DATABASE_URL, schema: oursSchema, file: '' },
  'raw-identity': rawTarget,
  'emmett-pg': emmettPgTarget,
  'bulwark-sqlite': { databaseUrl: '', schema: '', file: join(tmp, 'ours.db') },
  'emmett-sqlite': emmettSqliteTarget,
}
const perAppender = (kind: AppenderKind, table: { postgres: number; sqlite: number }) =>
  kind.endsWith('sqlite') ? table.sqlite : table.postgres
/** A figure, or why there is none (a peer that fails under this load is reported, not hidden). */
async function figure(measure: () => Promise<number>): Promise<number | string> {
  try {
    return await measure()
  } catch (error) {
    return `failed: ${(error as Error).message.split('\n')[0]}`
  }
}
async function inProcess(kind: AppenderKind): Promise<number | string> {
  return figure(async () => {
    const set = await openAppenders(kind, targets[kind], 8)
    try {
      const appenders = Array.from({ length: 8 }, (_, a) => set.make(`concurrent-${kind}-${a}`))
      for (const append of appenders) await append()
      return await appendsPerSecond(appenders, perAppender(kind, PER_APPENDER))
    } finally {
      await set.close()
    }
  })
}
const processes = (kind: AppenderKind) =>
  figure(() =>
    processesAppendsPerSecond(kind, targets[kind], {
      processes: 4,
      appenders: 2,
      perAppender: perAppender(kind, PER_PROCESS_APPENDER),
    }),
  )
const concurrent: Record<string, { concurrent_8: number | string; processes_4x2: number | string }> = {}
for (const kind of ['bulwark-pg', 'raw-identity', 'emmett-pg', 'bulwark-sqlite', 'emmett-sqlite'] as const)
  concurrent[kind] =
    kind === 'emmett-sqlite' && !EMMETT_VERSIONS.sqlite
      ? { concurrent_8: EMMETT_SQLITE_MISSING, processes_4x2: EMMETT_SQLITE_MISSING }
      : { concurrent_8: await inProcess(kind), processes_4x2: await processes(kind) }
const concurrentCounter = await appendsPerSecond(
  Array.from({ length: 8 }, (_, w) => rawPgAppender(`concurrent-counter-${w}`, 1)),
  PER_APPENDER.postgres,
)

// --- Clean up, report ---------------------------------------------------------------------------------
await sqliteStore.close()
rawDb.close()
await pgStore.close()
await rawPool.end()
for (const peer of [...Object.values(emmett), ...Object.values(emmettRead)]) await peer.close()
await admin.query(
  `DROP SCHEMA "${oursSchema}" CASCADE; DROP SCHEMA "${rawSchema}" CASCADE; DROP SCHEMA "${emmettPgTarget.schema}" CASCADE`,
)
await admin.end()

const adapterResult = (adapter: string) => ({
  append_1_vs_raw: pair(adapter, 'append_1').ratio,
  append_10_vs_raw: pair(adapter, 'append_10').ratio,
  read_all_vs_raw: pair(adapter, 'read_all').ratio,
  append_events_per_s: perSecond(adapter, 'append_10', 10),
  read_events_per_s: perSecond(adapter, 'read_all', PAGE),
})
const pgSettings = await (async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  const { rows } = await client.query(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version')",
  )
  await client.end()
  return Object.fromEntries(rows.map((r: { name: string; setting: string }) => [r.name, r.setting]))
})()
const ratio = (ours: number | string | undefined, other: number | string | undefined) =>
  typeof ours === 'number' && typeof other === 'number' ? round2(ours / other) : null
const c = (kind: AppenderKind) => concurrent[kind] as (typeof concurrent)[string]
const emmettFigures = (adapter: 'sqlite' | 'postgres', ours: AppenderKind, peer: AppenderKind) => {
  const p = emmettPairs[adapter] as Record<string, Paired>
  const perS = (name: string, events: number) => Math.round((events * 1000) / (p[name] as Paired).otherMs)
  return {
    append_1_vs_emmett: p.append_1?.ratio,
    append_10_vs_emmett: p.append_10?.ratio,
    read_all_vs_emmett: p.read_all?.ratio,
    concurrent_8_vs_emmett: ratio(c(ours).concurrent_8, c(peer).concurrent_8),
    processes_4x2_vs_emmett: ratio(c(ours).processes_4x2, c(peer).processes_4x2),
    emmett_append_events_per_s: perS('append_10', 10),
    emmett_read_events_per_s: perS('read_all', PAGE),
    emmett_concurrent_8_appends_per_s: c(peer).concurrent_8,
    emmett_processes_4x2_appends_per_s: c(peer).processes_4x2,
  }
}
const result = {
  sqlite: {
    ...adapterResult('sqlite'),
    concurrent_8_appends_per_s: c('bulwark-sqlite').concurrent_8,
    processes_4x2_appends_per_s: c('bulwark-sqlite').processes_4x2,
  },
  postgres: {
    ...adapterResult('postgres'),
    concurrent_8_appends_per_s: c('bulwark-pg').concurrent_8,
    processes_4x2_appends_per_s: c('bulwark-pg').processes_4x2,
    raw_counter_concurrent_8_appends_per_s: concurrentCounter,
    raw_identity_concurrent_8_appends_per_s: c('raw-identity').concurrent_8,
    raw_identity_processes_4x2_appends_per_s: c('raw-identity').processes_4x2,
  },
  ratios: {
    concurrent_8_vs_raw_identity: ratio(c('bulwark-pg').concurrent_8, c('raw-identity').concurrent_8),
    processes_4x2_vs_raw_identity: ratio(c('bulwark-pg').processes_4x2, c('raw-identity').processes_4x2),
  },
  peers: {
    emmett: {
      versions: { 'emmett-postgresql': EMMETT_VERSIONS.postgres, 'emmett-sqlite': EMMETT_VERSIONS.sqlite },
      method:
        "ratios = our throughput / Emmett's; append and read: median of 9 interleaved paired rounds; concurrent: one run each, same workload",
      sqlite: EMMETT_VERSIONS.sqlite
        ? {
            ...emmettFigures('sqlite', 'bulwark-sqlite', 'emmett-sqlite'),
            emmett_failed_commits_retried: peerFailures.count,
          }
        : EMMETT_SQLITE_MISSING,
      postgres: emmettFigures('postgres', 'bulwark-pg', 'emmett-pg'),
    },
  },
  targets: {
    append_1_vs_raw: '>= 0.7',
    append_10_vs_raw: '>= 0.7',
    read_all_vs_raw: '>= 0.7',
    concurrent_8_vs_raw_identity: '>= 0.8',
    processes_4x2_vs_raw_identity: '>= 0.8',
    vs_emmett: '> 1',
  },
  ratio_method: 'median of 15 interleaved rounds (ours, raw alternating first); mitata ratios below for reference',
  ratios_mitata: Object.fromEntries(
    ['sqlite', 'postgres'].map((adapter) => [
      adapter,
      Object.fromEntries(
        ['append_1', 'append_10', 'read_all'].map((n) => [
          n,
          { p50: vsRaw(adapter, n), mean: vsRaw(adapter, n, 'avg') },
        ]),
      ),
    ]),
  ),
  times_ns: Object.fromEntries([...time].map(([name, v]) => [name, { p50: round2(v.p50), avg: round2(v.avg) }])),
  environment: {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    postgres: pgSettings,
    sqlite: { journal_mode: 'wal', synchronous: 'NORMAL' },
  },
  measured_at: new Date().toISOString(),
}
rmSync(tmp, { recursive: true, force: true })
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/eventstore.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`)

const rows: string[][] = []
for (const adapter of ['sqlite', 'postgres'] as const) {
  for (const [metric, value] of Object.entries(result[adapter])) {
    const target = metric.endsWith('_vs_raw') ? '>= 0.7' : ''
    const ok = target ? ((value as number) >= 0.7 ? 'ok' : 'MISSED') : ''
    rows.push([adapter, metric, String(value), target, ok])
  }
}
const widths = [8, 40, 10, 8, 6]
console.log(`\n${['adapter', 'metric', 'value', 'target', ''].map((c, i) => c.padEnd(widths[i] ?? 8)).join(' ')}`)
for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] ?? 8)).join(' '))
