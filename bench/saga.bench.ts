/**
 * `npm run bench:saga`: a five-step saga on the memory and SQLite stores, against the raw SQLite append
 * it is built on, in one run.
 *
 * Prints mitata's table and a ratio table, and writes `bench/results/saga.json`:
 * - sagas_per_s.memory / sagas_per_s.sqlite: five-step sagas started and completed per second, one at a time
 * - sagas_per_s.concurrent_50.sqlite / .postgres: the same sagas with 50 in flight at once (see
 *   saga-concurrent.ts), on SQLite and on PostgreSQL (DATABASE_URL, a schema of this run, dropped after)
 * - step_overhead_vs_append: (SQLite saga time / 5 steps) / one raw `appendToStream` of one event on the
 *   same SQLite store (target <= 1.5), measured paired (see pairedStepOverhead). A step needs its start
 *   recorded before its effect and its outcome after; the orchestrator batches the outcome with the next
 *   step's start, so a five-step saga makes six appends, and the ratio says what the rest costs on top.
 *
 * sagas_per_s uses mitata's median time per saga (the means are in the JSON too).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { bench, run } from 'mitata'
import pg from 'pg'
import { postgresEventStore } from '../src/eventstore/adapters/postgres.js'
import { sqliteEventStore } from '../src/eventstore/adapters/sqlite.js'
import { type EventStore, type JsonValue, memoryEventStore, type NewEvent } from '../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga } from '../src/saga/index.js'
import { concurrentSagasPerSecond } from './saga-concurrent.js'

const STEPS = 5
const dir = mkdtempSync(join(os.tmpdir(), 'bulwark-saga-bench-'))
const sqlite = sqliteEventStore({ path: join(dir, 'bench.db') })
const memory = memoryEventStore()

const undo = () => undefined
const fiveSteps = defineSaga<{ orderId: number }>('bench-five-steps')
  .step('reserve', { run: ({ input }) => ({ reservation: `r-${input.orderId}` }), compensate: undo })
  .step('charge', { run: ({ input }) => ({ payment: `p-${input.orderId}` }), compensate: undo })
  .step('label', { run: () => ({ label: 'L-1' }), compensate: undo })
  .step('ship', { kind: 'pivot', run: () => ({ tracking: 'T-1' }) })
  .step('notify', { kind: 'retriable', run: () => ({ sent: true }) })

function sagaRunner(store: EventStore, prefix: string) {
  const orchestrator = createSagaOrchestrator({ store, sagas: [fiveSteps] })
  let n = 0
  return async () => {
    const id = ++n
    const state = await orchestrator.start(fiveSteps, { orderId: id }, { sagaId: `${prefix}-${id}` })
    if (state.status !== 'completed') throw new Error(`saga ${state.sagaId} ended ${state.status}`)
  }
}

/**
 * One raw append, the kind a saga step makes: one small event, with an expected version, to a short stream.
 * The streams get APPENDS_PER_STREAM appends each (the first with 'no_stream'), the life of a saga stream,
 * so the baseline and the saga write the same stream shapes to the same store.
 */
const APPENDS_PER_STREAM = STEPS + 1
function rawAppender(store: EventStore) {
  let n = 0
  return async () => {
    const i = n++
    const version = i % APPENDS_PER_STREAM
    await store.appendToStream(
      `raw-${Math.floor(i / APPENDS_PER_STREAM)}`,
      [{ type: 'StepExecuted', data: { step: 'charge', output: { payment: `p-${i}` }, at: i } }],
      { expectedVersion: version === 0 ? 'no_stream' : version },
    )
  }
}
const rawAppend = rawAppender(sqlite)

/**
 * The step overhead is measured paired: each round times one SQLite saga, then one raw stream's appends, back to
 * back, so load from other processes and SQLite's periodic WAL checkpoints hit both sides alike (on a
 * shared machine, two separate mitata runs minutes apart can differ by 2x). Ratio of the total times.
 */
async function pairedStepOverhead(
  rounds: number,
  store = sqlite,
  append = rawAppend,
): Promise<{ ratio: number; sagaNs: number; appendNs: number }> {
  const saga = sagaRunner(store, 'paired')
  let sagaTime = 0
  let appendTime = 0
  for (let i = 0; i < rounds; i++) {
    let t = process.hrtime.bigint()
    await saga()
    sagaTime += Number(process.hrtime.bigint() - t)
    t = process.hrtime.bigint()
    for (let k = 0; k < APPENDS_PER_STREAM; k++) await append()
    appendTime += Number(process.hrtime.bigint() - t)
  }
  const appendNs = appendTime / rounds / APPENDS_PER_STREAM
  return { ratio: sagaTime / rounds / STEPS / appendNs, sagaNs: sagaTime / rounds, appendNs }
}

/**
 * The floor the store sets: the exact batches a five-step saga appends (captured once through the
 * orchestrator's hooks), appended directly, paired with the same raw appends as above. What the saga costs
 * above this floor is the orchestration itself.
 */
async function storeFloor(rounds: number): Promise<number> {
  const batches: NewEvent[][] = []
  const capture = createSagaOrchestrator({
    store: memoryEventStore(),
    hooks: {
      beforeAppend: (_id, events) =>
        void batches.push(events.map((e) => ({ type: e.type, data: e.data as JsonValue }))),
    },
  })
  await capture.start(fiveSteps, { orderId: 0 }, { sagaId: 'capture' })
  let floorTime = 0
  let appendTime = 0
  for (let i = 0; i < rounds; i++) {
    let t = process.hrtime.bigint()
    let version = 0
    for (const batch of batches) {
      await sqlite.appendToStream(`floor-${i}`, batch, { expectedVersion: version === 0 ? 'no_stream' : version })
      version += batch.length
    }
    floorTime += Number(process.hrtime.bigint() - t)
    t = process.hrtime.bigint()
    for (let k = 0; k < APPENDS_PER_STREAM; k++) await rawAppend()
    appendTime += Number(process.hrtime.bigint() - t)
  }
  return floorTime / rounds / STEPS / (appendTime / rounds / APPENDS_PER_STREAM)
}
/**
 * Why the ratio is what it is: an append's cost on SQLite is mostly its commit, which writes every page the
 * transaction dirtied (table and four indexes) to the WAL, and later checkpoints them. This counts WAL
 * frames per saga step and per raw append, on a store of its own with auto-checkpoints off so the WAL only
 * grows (4096-byte pages, 24-byte frame headers).
 */
async function walFramesPerStepVsAppend(rounds: number): Promise<{ step: number; append: number }> {
  const file = join(dir, 'frames.db')
  const database = new Database(file)
  const store = sqliteEventStore({ database })
  database.pragma('wal_autocheckpoint = 0')
  const orchestrator = createSagaOrchestrator({ store, sagas: [fiveSteps] })
  const append = rawAppender(store)
  const walBytes = () => statSync(`${file}-wal`).size
  let sagaBytes = 0
  let appendBytes = 0
  for (let i = 0; i < rounds; i++) {
    let before = walBytes()
    await orchestrator.start(fiveSteps, { orderId: i }, { sagaId: `frames-${i}` })
    sagaBytes += walBytes() - before
    before = walBytes()
    for (let k = 0; k < APPENDS_PER_STREAM; k++) await append()
    appendBytes += walBytes() - before
  }
  await store.close()
  database.close()
  const frame = 4096 + 24
  return { step: sagaBytes / rounds / STEPS / frame, append: appendBytes / rounds / APPENDS_PER_STREAM / frame }
}

// First, while the process is fresh: mitata's runs below leave a large heap (the memory store) behind.
const paired = await pairedStepOverhead(3_000)
const floor = await storeFloor(3_000)
const frames = await walFramesPerStepVsAppend(1_000)
// The same paired ratio with durability 'full' (a sync per commit): a fixed cost per append that the rows'
// page writes add less to. Not the target's configuration (the default is 'normal'); it shows how r moves.
const fullStore = sqliteEventStore({ path: join(dir, 'full.db'), durability: 'full' })
const pairedFull = await pairedStepOverhead(300, fullStore, rawAppender(fullStore))
await fullStore.close()

// 50 sagas in flight at once, on SQLite and on PostgreSQL (a schema of this run, dropped after).
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const pgSchema = `bench_saga_${process.pid}_${Date.now().toString(36)}`
const concurrentSqlite = sqliteEventStore({ path: join(dir, 'concurrent.db') })
const pgStore = postgresEventStore({ connectionString: DATABASE_URL, schema: pgSchema })
const input = (n: number) => ({ orderId: n })
const concurrent50 = {
  sqlite: await concurrentSagasPerSecond(concurrentSqlite, fiveSteps, {
    inFlight: 50,
    total: 3_000,
    input,
    prefix: 'c50',
  }),
  postgres: await concurrentSagasPerSecond(pgStore, fiveSteps, { inFlight: 50, total: 600, input, prefix: 'c50' }),
}
await concurrentSqlite.close()
await pgStore.close()
{
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`)
  await admin.end()
}

bench('saga 5 steps (memory)', sagaRunner(memory, 'mem'))
bench('saga 5 steps (sqlite)', sagaRunner(sqlite, 'sql'))
bench('raw appendToStream, 1 event (sqlite)', rawAppend)

const { benchmarks } = await run({ format: 'mitata' })
const time = new Map<string, { p50: number; avg: number }>()
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats
  if (stats) time.set(trial.alias, { p50: stats.p50, avg: stats.avg })
}
const p50 = (name: string): number => {
  const t = time.get(name)
  if (!t) throw new Error(`no result for ${name}`)
  return t.p50
}
const round2 = (x: number) => Math.round(x * 100) / 100

const result = {
  sagas_per_s: {
    memory: Math.round(1e9 / p50('saga 5 steps (memory)')),
    sqlite: Math.round(1e9 / p50('saga 5 steps (sqlite)')),
    // Five-step sagas completed per second with 50 in flight at once.
    concurrent_50: concurrent50,
  },
  step_overhead_vs_append: round2(paired.ratio),
  step_overhead_vs_append_durability_full: round2(pairedFull.ratio),
  // The same ratio for the saga's own batches appended directly, without the orchestrator.
  store_floor_vs_append: round2(floor),
  // WAL pages written per saga step and per raw append: the ratio the commit costs follow.
  wal_frames: {
    per_step: round2(frames.step),
    per_append: round2(frames.append),
    step_vs_append: round2(frames.step / frames.append),
  },
  targets: { step_overhead_vs_append: '<= 1.5' },
  appends_per_saga: STEPS + 1,
  paired_ns: { saga_sqlite: Math.round(paired.sagaNs), raw_append_sqlite: Math.round(paired.appendNs) },
  step_overhead_vs_append_unpaired_p50: round2(
    p50('saga 5 steps (sqlite)') / STEPS / p50('raw appendToStream, 1 event (sqlite)'),
  ),
  times_ns: Object.fromEntries([...time].map(([name, t]) => [name, { p50: round2(t.p50), avg: round2(t.avg) }])),
  machine: {
    cpus: os.cpus().length,
    load: os.loadavg().map(round2),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  },
}

console.log('\n| measure | value | target |\n| --- | --- | --- |')
console.log(`| sagas/s, memory store | ${result.sagas_per_s.memory} | |`)
console.log(`| sagas/s, SQLite store | ${result.sagas_per_s.sqlite} | |`)
console.log(`| sagas/s, 50 in flight, SQLite | ${concurrent50.sqlite} | |`)
console.log(`| sagas/s, 50 in flight, PostgreSQL | ${concurrent50.postgres} | |`)
console.log(`| step time / raw SQLite append | ${result.step_overhead_vs_append} | <= 1.5 |`)
console.log(`| the saga's batches appended directly / 5 / raw append | ${result.store_floor_vs_append} | (the floor) |`)
console.log(`| WAL pages written per step / per raw append | ${result.wal_frames.step_vs_append} | |`)
console.log(`| step time / raw append, durability 'full' | ${result.step_overhead_vs_append_durability_full} | |`)

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(new URL('./results/saga.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`)
await sqlite.close()
rmSync(dir, { recursive: true, force: true })
