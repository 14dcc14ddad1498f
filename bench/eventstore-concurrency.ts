/**
 * `npx tsx bench/eventstore-concurrency.ts [kinds]`: only the concurrency figures of `eventstore.bench.ts`
 * (1 appender, 8 in one process, 4 processes x 2; appends/s), in about a minute per kind, for comparing
 * two versions of the sources: copy `bench/eventstore-*.ts` into an export of the other commit
 * (`git archive <commit> src | tar -x -C <dir>`, with `bench/` and a `node_modules` link beside it) and
 * run it there and here back to back. Kinds: comma-separated `AppenderKind`s; default
 * `bulwark-pg,raw-identity`. Schemas and files are of this run and removed after.
 */
import { rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { type AppenderKind, appendsPerSecond, createRawTables, openAppenders } from './eventstore-appenders.js'
import { processesAppendsPerSecond } from './eventstore-processes.js'

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const RUN = `${process.pid}_${Date.now().toString(36)}`
const admin = new pg.Pool({ connectionString: url, max: 2 })
const kinds = (process.argv[2] ?? 'bulwark-pg,raw-identity').split(',') as AppenderKind[]
const out: Record<string, number> = {}
for (const kind of kinds) {
  const sqlite = kind.endsWith('sqlite')
  const schema = `bench_conc_${kind.replace('-', '_')}_${RUN}`
  if (kind === 'raw-identity') await createRawTables(admin, schema)
  else await admin.query(`CREATE SCHEMA "${schema}"`)
  const file = join(os.tmpdir(), `bulwark-conc-${kind}-${RUN}.db`)
  const target = { databaseUrl: url, schema, file }
  const set = await openAppenders(kind, target, 8)
  out[`${kind} 1`] = await appendsPerSecond([set.make('lone')], sqlite ? 3_000 : 300)
  const appenders = Array.from({ length: 8 }, (_, a) => set.make(`concurrent-${a}`))
  for (const append of appenders) await append()
  out[`${kind} 8`] = await appendsPerSecond(appenders, sqlite ? 1_500 : 150)
  await set.close()
  out[`${kind} 4x2`] = await processesAppendsPerSecond(kind, target, {
    processes: 4,
    appenders: 2,
    perAppender: sqlite ? 1_500 : 300,
  })
  await admin.query(`DROP SCHEMA "${schema}" CASCADE`)
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
}
console.log(JSON.stringify(out))
await admin.end()
