// `npm run example:bench`: the original design's numbers, measured through each service's HTTP endpoint.
// For SQLite (embedded) and PostgreSQL (DATABASE_URL, default the local test database), the shop is started
// three times over the same seeded data: caches off (EXAMPLE_CACHE=off), L1 (default) and L2 only (Redis,
// L1 off); each endpoint is read `n` times on one warm key and the medians compared. Then a payment outage:
// outage to breaker open, to the first saga failed fast, and end of outage to closed. Writes
// bench/results.json and the table between the bench markers of the README.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { percentileOf } from './load/report.js'

const root = resolve(import.meta.dirname, '../..')
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const portBase = Number(process.env.BENCH_PORT_BASE ?? 3200)
const base = (offset: number) => `http://127.0.0.1:${portBase + offset}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const original = { product: 5, customer: 3.3, template: 6.25, statistics: 20 }
const reads = {
  product: { url: () => `${base(3)}/products/sku-00042`, n: 300 },
  customer: { url: () => `${base(2)}/customers/cust-0042`, n: 300 },
  template: { url: () => `${base(6)}/templates/order-confirmation-email`, n: 300 },
  statistics: { url: () => `${base(3)}/inventory/statistics`, n: 40 },
} as const
type Read = keyof typeof reads

async function start(env: NodeJS.ProcessEnv, dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(root, 'dist/launcher/main.js'), '--port-base', String(portBase), '--data-dir', dataDir, '--no-restart'],
    { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' },
  )
  for (let i = 0; i < 1200; i++) {
    const s = await fetch(`${base(0)}/status`)
      .then((r) => r.json() as Promise<{ services: { status: string }[] }>)
      .catch(() => undefined)
    if (s?.services.every((p) => p.status === 'ready')) return child
    await sleep(250)
  }
  throw new Error('the shop did not get ready')
}
async function stop(child: ChildProcess) {
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
}

async function median(url: string, n: number): Promise<number> {
  // Two warm reads: the first loads (and fills the cache when there is one).
  for (let i = 0; i < 2; i++) await (await fetch(url)).arrayBuffer()
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`${url}: ${res.status}`)
    times.push(performance.now() - t)
  }
  return percentileOf(
    times.sort((a, b) => a - b),
    0.5,
  )!
}

type Medians = Record<Read, Partial<Record<'off' | 'l1' | 'l2', number>>>
async function measureMode(label: string, env: NodeJS.ProcessEnv, dataDir: string): Promise<Medians> {
  const out = Object.fromEntries(Object.keys(reads).map((k) => [k, {}])) as Medians
  for (const cache of ['off', 'l1', 'l2'] as const) {
    const redis = cache === 'l2' ? { REDIS_URL: redisUrl } : { REDIS_URL: '' }
    const shop = await start({ ...env, ...redis, EXAMPLE_CACHE: cache === 'l1' ? '' : cache }, dataDir)
    try {
      for (const [name, r] of Object.entries(reads) as [Read, (typeof reads)[Read]][]) {
        if (cache === 'l2' && name === 'template') continue // templates are in-memory only (no L2 in the table)
        out[name][cache] = Math.round((await median(r.url(), r.n)) * 1000) / 1000
        console.log(`${label} ${name} cache=${cache}: median ${out[name][cache]} ms`)
      }
    } finally {
      await stop(shop)
    }
  }
  return out
}

async function detection(dataDir: string) {
  const shop = await start({ REDIS_URL: '', EXAMPLE_CONFIG: '' }, dataDir)
  try {
    const order = (i: number) =>
      fetch(`${base(1)}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `bench-${Date.now()}-${i}` },
        body: JSON.stringify({ customerId: 'cust-0003', items: [{ sku: 'sku-00003', quantity: 1 }] }),
      }).then((r) => r.json() as Promise<{ status: string; failure?: { message?: string } }>)
    const payment = async () =>
      (
        (await (await fetch(`${base(1)}/breakers`)).json()) as {
          name: string
          state: string
          totals: { rejections: number }
        }[]
      ).find((b) => b.name === 'payment')!
    await order(0)
    const rejections0 = (await payment()).totals.rejections
    const put = (body: unknown) =>
      fetch(`${base(4)}/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const outage = performance.now()
    await put({ errorRate: 1 })
    let openAt: number | undefined
    let fastFailAt: number | undefined
    for (let i = 1; (openAt === undefined || fastFailAt === undefined) && i < 200; i++) {
      await order(i)
      const b = await payment()
      if (openAt === undefined && b.state === 'open') openAt = performance.now()
      if (fastFailAt === undefined && b.totals.rejections > rejections0) fastFailAt = performance.now()
    }
    await put({ errorRate: 0 })
    const recovery = performance.now()
    let closedAt: number | undefined
    for (let i = 1000; closedAt === undefined && performance.now() - recovery < 300_000; i++) {
      await order(i)
      if ((await payment()).state === 'closed') closedAt = performance.now()
      else await sleep(250)
    }
    const ms = (v: number | undefined, from: number) => (v === undefined ? null : Math.round(v - from))
    return {
      outage_to_open_ms: ms(openAt, outage),
      outage_to_first_fast_fail_ms: ms(fastFailAt, outage),
      recovery_to_closed_ms: ms(closedAt, recovery),
      note: 'one order at a time; payment answers 500 to everything during the outage; open 60 s as in the breaker table',
    }
  } finally {
    await stop(shop)
  }
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'shop-bench-'))
const pgDir = mkdtempSync(join(tmpdir(), 'shop-bench-pg-'))
const prefix = `bench${process.pid}`
const medians = {
  sqlite: await measureMode('sqlite', { DATABASE_URL: '' }, sqliteDir),
  postgres: await measureMode('postgres', { DATABASE_URL: databaseUrl, STACK_PREFIX: prefix }, pgDir),
}
const detect = await detection(sqliteDir)
const ratio = (m: Medians[Read], k: 'l1' | 'l2') =>
  m.off !== undefined && m[k] !== undefined ? Math.round((m.off / m[k]!) * 100) / 100 : null
const ratios = Object.fromEntries(
  Object.entries(medians).map(([db, m]) => [
    db,
    Object.fromEntries(
      (Object.keys(reads) as Read[]).map((r) => [
        r,
        { l1: ratio(m[r], 'l1'), ...(r === 'template' ? {} : { l2: ratio(m[r], 'l2') }) },
      ]),
    ),
  ]),
)
const results = {
  measuredAt: new Date().toISOString(),
  method:
    'median of sequential HTTP GETs of one warm key through each service (keep-alive fetch); cache off = EXAMPLE_CACHE=off, l1 = default, l2 = Redis L2 with L1 off',
  medians_ms: medians,
  ratios,
  original,
  detection: detect,
}
mkdirSync(join(root, 'bench'), { recursive: true })
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`)

// Clean up this run's PostgreSQL schemas.
const pg = (await import('pg')).default
const client = new pg.Client({ connectionString: databaseUrl })
await client.connect()
for (const s of ['coordinator', 'order', 'inventory', 'payment', 'shipping', 'notification'])
  await client.query(`DROP SCHEMA IF EXISTS "${prefix}_${s}" CASCADE`)
await client.end()

const names: Record<Read, string> = {
  product: 'product lookup',
  customer: 'customer data',
  template: 'template lookup',
  statistics: 'statistics query',
}
const cell = (db: 'sqlite' | 'postgres', r: Read, k: 'l1' | 'l2') => {
  const m = medians[db][r]
  const v = (ratios[db] as unknown as Record<Read, Record<string, number | null>>)[r]![k]
  return v == null ? '–' : `${m.off} → ${m[k]} ms = **${v}x**`
}
const table = [
  '| operation | original | SQLite, L1 hit | SQLite, L2 hit | PostgreSQL, L1 hit | PostgreSQL, L2 hit |',
  '| --- | --- | --- | --- | --- | --- |',
  ...(Object.keys(reads) as Read[]).map(
    (r) =>
      `| ${names[r]} | ${original[r]}x | ${cell('sqlite', r, 'l1')} | ${cell('sqlite', r, 'l2')} | ${cell('postgres', r, 'l1')} | ${cell('postgres', r, 'l2')} |`,
  ),
  '',
  `Payment outage (SQLite, breaker table as written): open after **${detect.outage_to_open_ms} ms**, first saga failed fast after **${detect.outage_to_first_fast_fail_ms} ms** (original: 30 s; before: 5 min), closed again **${detect.recovery_to_closed_ms} ms** after the outage ended (open 60 s, then a probe).`,
  '',
  `Measured ${results.measuredAt} by \`npm run example:bench\` (${results.method}); raw numbers in [bench/results.json](bench/results.json).`,
].join('\n')
const readme = join(root, 'README.md')
const text = readFileSync(readme, 'utf8')
const start_ = '<!-- bench:start -->'
const end_ = '<!-- bench:end -->'
const section = `${start_}\n${table}\n${end_}`
writeFileSync(
  readme,
  text.includes(start_)
    ? text.replace(new RegExp(`${start_}[\\s\\S]*${end_}`), section)
    : `${text.trimEnd()}\n\n## The original design's numbers, measured\n\n${section}\n`,
)
console.log(table)
