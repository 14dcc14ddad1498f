/**
 * `npm run bench:cache`: the cache against its peers and the raw drivers, all in one run.
 *
 * Prints mitata's table and a ratio table, and writes `bench/results/cache.json`:
 * - l1_hit_vs_lru_async: our L1-hit `getOrSet` / an async function returning `lru.get(key)` (target <= 2)
 * - cache_manager_vs_l1_hit: cache-manager 7 `get` / our L1 hit (target >= 10)
 * - bentocache_vs_l1_hit: BentoCache `getOrSet` L1 hit / our L1 hit (target >= 10)
 * - decorator_vs_getorset: `@cached` method L1 hit / direct `getOrSet` (target <= 1.3)
 * - l2_hit_vs_raw_ioredis: our L2 hit with L1 off / raw `ioredis.get` + `JSON.parse`, one call at a time, both
 *   on an auto-pipelined client as the driver creates (target <= 1.2)
 * - invalidation_p99_ms: two OS processes, from `set` in one to the L1 drop in the other (target < 10)
 * - stampede_loader_calls: loader calls for 1,000 concurrent misses of one key (target 1)
 * - cluster: the same L2 hit and a 100-key getOrSetMany on a private Redis Cluster (`cache-cluster.ts`);
 *   `npm run bench:cache -- --cluster-only` runs only that and updates only that key of the JSON
 * - l2_concurrent_vs_raw(_autopipelined), set_concurrent_vs_raw(_autopipelined): throughput with 100
 *   concurrent callers, ours / raw ioredis on the same client (target >= 0.9; see cache-concurrent.ts)
 *
 * Each ratio is the median, over 9 interleaved rounds, of the two cases' median times per call (the
 * same from means is in the JSON as `ratios_by_mean`). Redis is REDIS_URL (default
 * redis://127.0.0.1:6379), under a key prefix of this run, cleaned up at the end.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { bench, do_not_optimize, run } from 'mitata'
import { redisBus, redisCacheDriver } from '../src/cache/adapters/redis.js'
import { cached, createCache } from '../src/cache/index.js'
import { forkCacheProcess } from '../test/support/cache-process-harness.js'
import { unlinkMatching } from '../test/support/redis-server.js'
import { clusterBench } from './cache-cluster.js'
import { concurrentL2 } from './cache-concurrent.js'
import { interleavedRounds, median } from './rounds.js'

const RESULTS = new URL('./results/cache.json', import.meta.url)
if (process.argv.includes('--cluster-only')) {
  const cluster = await clusterBench()
  const previous = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>
  writeFileSync(RESULTS, `${JSON.stringify({ ...previous, cluster }, null, 2)}\n`)
  console.log(JSON.stringify(cluster, null, 2))
  process.exit(0)
}

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const run_id = `bulwark-bench:${process.pid}:${Date.now()}`
const keyPrefix = `${run_id}:`
const KEY = 'product:42'
const VALUE = { id: 42, name: 'Espresso machine', price: 249.9, tags: ['kitchen', 'coffee'], stock: 17 }
const loader = () => VALUE

// --- L1 hit: ours, an async lru-cache read, cache-manager 7, BentoCache -----------------------------
const lru = new LRUCache<string, object>({ max: 10_000 })
lru.set(KEY, VALUE)
const lruGetAsync = async (key: string) => lru.get(key)

const ours = createCache({ namespace: 'bench', ttl: '1h' })
await ours.set(KEY, VALUE)

const cacheManager = createCacheManager()
await cacheManager.set(KEY, VALUE, 3_600_000)

const bento = new BentoCache({
  default: 'memory',
  stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
})
await bento.set({ key: KEY, value: VALUE, ttl: '1h' })

class ProductRepository {
  @cached({ cache: ours, key: (id: string) => `product:${id}`, ttl: '1h' })
  async find(id: string): Promise<typeof VALUE> {
    return { ...VALUE, id: Number(id) }
  }
}
const repository = new ProductRepository()
// A variable, so neither side gets a constant-folded key.
const productId = String(VALUE.id)
await repository.find('42')

// --- L2 hit with L1 off, and the raw ioredis read it stands on ----------------------------------------
const l2Only = createCache({
  namespace: 'bench-l2',
  ttl: '1h',
  l1: { enabled: false },
  l2: redisCacheDriver({ url: REDIS_URL, keyPrefix }),
})
await l2Only.set(KEY, VALUE)
// Configured as the driver's own client (created from the URL, so auto-pipelined): both sides pay the
// same write at the end of the tick.
const raw = new Redis(REDIS_URL, { enableAutoPipelining: true })
const RAW_KEY = `${keyPrefix}raw:${KEY}`
await raw.set(RAW_KEY, JSON.stringify(VALUE), 'PX', 3_600_000)
const check = await l2Only.getOrSet(KEY, () => {
  throw new Error('the L2 benchmark must hit L2')
})
if ((check as typeof VALUE).id !== 42) throw new Error('L2 did not return the value')

const cases: Record<string, () => Promise<unknown>> = {
  'lru-cache get (async fn)': async () => do_not_optimize(await lruGetAsync(KEY)),
  'bulwark getOrSet L1 hit': async () => do_not_optimize(await ours.getOrSet(KEY, loader)),
  'bulwark @cached L1 hit': async () => do_not_optimize(await repository.find(productId)),
  'bulwark getOrSet L1 hit, key built per call': async () =>
    do_not_optimize(await ours.getOrSet(`product:${productId}`, loader)),
  'cache-manager 7 get': async () => do_not_optimize(await cacheManager.get(KEY)),
  'bentocache getOrSet L1 hit': async () =>
    do_not_optimize(await bento.getOrSet({ key: KEY, factory: loader, ttl: '1h' })),
  'ioredis get + JSON.parse (auto-pipelined client)': async () =>
    do_not_optimize(JSON.parse((await raw.get(RAW_KEY)) as string)),
  'bulwark getOrSet L2 hit (L1 off)': async () => do_not_optimize(await l2Only.getOrSet(KEY, loader)),
}
for (const [name, fn] of Object.entries(cases)) bench(name, fn)
await run({ format: 'mitata' })

// The ratios come from interleaved rounds: each round measures every case once (in a rotating
// order), so a load spike on a shared machine hits both sides of a ratio instead of one.
const ROUNDS = 9
const names = Object.keys(cases)
const rounds = await interleavedRounds(cases as Record<string, () => Promise<unknown>>, ROUNDS)
const time = new Map(
  names.map((name) => [
    name,
    {
      p50: median(rounds.map((r) => r[name]?.p50 ?? Number.NaN)),
      avg: median(rounds.map((r) => r[name]?.avg ?? Number.NaN)),
    },
  ]),
)
const ratio = (a: string, b: string, field: 'p50' | 'avg' = 'p50'): number =>
  Math.round(median(rounds.map((r) => (r[a]?.[field] ?? Number.NaN) / (r[b]?.[field] ?? Number.NaN))) * 100) / 100
const pairs = {
  l1_hit_vs_lru_async: ['bulwark getOrSet L1 hit', 'lru-cache get (async fn)'],
  cache_manager_vs_l1_hit: ['cache-manager 7 get', 'bulwark getOrSet L1 hit'],
  bentocache_vs_l1_hit: ['bentocache getOrSet L1 hit', 'bulwark getOrSet L1 hit'],
  decorator_vs_getorset: ['bulwark @cached L1 hit', 'bulwark getOrSet L1 hit'],
  l2_hit_vs_raw_ioredis: ['bulwark getOrSet L2 hit (L1 off)', 'ioredis get + JSON.parse (auto-pipelined client)'],
} as const
const ratios = Object.fromEntries(Object.entries(pairs).map(([name, [a, b]]) => [name, ratio(a, b)]))
const ratiosByMean = Object.fromEntries(Object.entries(pairs).map(([name, [a, b]]) => [name, ratio(a, b, 'avg')]))

// --- Invalidation latency across two OS processes ----------------------------------------------------
async function invalidationSamples(count: number): Promise<number[]> {
  const options = { url: REDIS_URL, namespace: `bench-inv-${process.pid}`, keyPrefix }
  const [writer, reader] = await Promise.all([forkCacheProcess(options), forkCacheProcess(options)])
  const samples: number[] = []
  try {
    for (let i = 0; i < count + 20; i++) {
      const key = `inv:${i}`
      await reader.request({ op: 'getOrSet', key, value: i })
      const dropped = reader.nextInvalidation(key)
      const { at } = await writer.request<{ at: number }>({ op: 'set', key, value: -i })
      const event = await dropped
      if (i >= 20) samples.push(event.at - at) // the first 20 warm up both processes
    }
  } finally {
    await Promise.all([writer.close(), reader.close()])
  }
  return samples
}
const invalidation = (await invalidationSamples(200)).sort((a, b) => a - b)
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number
const round2 = (n: number) => Math.round(n * 100) / 100
const invalidationP99 = round2(percentile(invalidation, 0.99))

// --- Stampede: 1,000 concurrent misses of one key ----------------------------------------------------
async function stampede(): Promise<number> {
  const cache = createCache({
    namespace: `bench-stampede-${process.pid}`,
    l2: redisCacheDriver({ url: REDIS_URL, keyPrefix }),
    bus: redisBus({ url: REDIS_URL }),
  })
  await cache.ready()
  let calls = 0
  const slowLoader = async () => {
    calls++
    await new Promise((resolve) => setTimeout(resolve, 20))
    return VALUE
  }
  const values = await Promise.all(Array.from({ length: 1_000 }, () => cache.getOrSet('hot', slowLoader)))
  if (values.some((v) => v !== VALUE && (v as typeof VALUE).id !== 42)) throw new Error('stampede: wrong value')
  await cache.close()
  return calls
}
const stampedeLoaderCalls = await stampede()
const cluster = await clusterBench()

// --- The L2 path under 100 concurrent callers (issue 15) ----------------------------------------------
const concurrent = await concurrentL2(REDIS_URL, run_id)

// --- Clean up, report ---------------------------------------------------------------------------------
await unlinkMatching(raw, `${run_id}:*`)
await Promise.all([l2Only.close(), ours.close(), bento.disconnect(), cacheManager.disconnect()])
raw.disconnect()

const targets = {
  l1_hit_vs_lru_async: (v: number) => v <= 2,
  cache_manager_vs_l1_hit: (v: number) => v >= 10,
  bentocache_vs_l1_hit: (v: number) => v >= 10,
  decorator_vs_getorset: (v: number) => v <= 1.3,
  l2_hit_vs_raw_ioredis: (v: number) => v <= 1.2,
}
const result = {
  ratios: { ...ratios, ...concurrent.ratios },
  invalidation_p99_ms: invalidationP99,
  stampede_loader_calls: stampedeLoaderCalls,
  targets: {
    l1_hit_vs_lru_async: '<= 2',
    cache_manager_vs_l1_hit: '>= 10',
    bentocache_vs_l1_hit: '>= 10',
    decorator_vs_getorset: '<= 1.3',
    l2_hit_vs_raw_ioredis: '<= 1.2',
    invalidation_p99_ms: '< 10',
    stampede_loader_calls: '= 1',
    l2_concurrent_vs_raw: '>= 0.9',
    l2_concurrent_vs_raw_autopipelined: '>= 0.9',
    set_concurrent_vs_raw: '>= 0.9',
    set_concurrent_vs_raw_autopipelined: '>= 0.9',
  },
  ratios_by_mean: ratiosByMean,
  // The most any cache with an async API could score on b and c: the peer against a bare async
  // function returning lru.get(key) (the await alone costs about that much).
  ceilings: {
    cache_manager_vs_lru_async: ratio('cache-manager 7 get', 'lru-cache get (async fn)'),
    bentocache_vs_lru_async: ratio('bentocache getOrSet L1 hit', 'lru-cache get (async fn)'),
  },
  // d against a direct getOrSet that builds the same `product:${id}` key per call, as hand-written
  // code would: what the decorator machinery itself costs, apart from building the key.
  decorator_vs_getorset_same_key: ratio('bulwark @cached L1 hit', 'bulwark getOrSet L1 hit, key built per call'),
  // Throughput with 100 concurrent callers (ops/s, medians of 7 rounds), and the floors: the raw calls
  // behind a breaker configured as the cache's, and raw SET + PUBLISH on a channel this process listens
  // on (as a cache's bus), against the raw calls alone.
  // And the ceiling: the raw calls through the driver's and the bus's batches alone (no caching work).
  concurrent: {
    ops_per_s: concurrent.ops_per_s,
    floors: concurrent.floors,
    batching_alone: concurrent.batching_alone,
  },
  invalidation_ms: {
    samples: invalidation.length,
    p50: round2(percentile(invalidation, 0.5)),
    p90: round2(percentile(invalidation, 0.9)),
    p99: invalidationP99,
    max: round2(invalidation.at(-1) as number),
  },
  rounds: ROUNDS,
  times_ns: Object.fromEntries([...time].map(([name, t]) => [name, { p50: round2(t.p50), avg: round2(t.avg) }])),
  environment: {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    // A shared machine's load distorts every ratio: recorded so a reader can judge the run.
    load_average_1m: Math.round((os.loadavg()[0] ?? 0) * 10) / 10,
    redis: REDIS_URL,
  },
  measured_at: new Date().toISOString(),
  cluster,
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`)

const rows = [
  ...Object.entries(ratios).map(([name, value]) => [
    name,
    String(value),
    result.targets[name as keyof typeof targets],
    targets[name as keyof typeof targets](value) ? 'ok' : 'MISSED',
  ]),
  ['invalidation_p99_ms', String(invalidationP99), '< 10', invalidationP99 < 10 ? 'ok' : 'MISSED'],
  ['stampede_loader_calls', String(stampedeLoaderCalls), '= 1', stampedeLoaderCalls === 1 ? 'ok' : 'MISSED'],
  [
    'cluster l2_hit_vs_raw',
    String(cluster.ratios.l2_hit_vs_raw_cluster),
    '<= 1.2',
    cluster.ratios.l2_hit_vs_raw_cluster <= 1.2 ? 'ok' : 'MISSED',
  ],
  ['cluster many_100_vs_raw', String(cluster.ratios.get_or_set_many_100_vs_raw_pipelined), '-', 'reported'],
  ['cluster driver_many_100_vs_raw', String(cluster.ratios.driver_get_many_100_vs_raw_pipelined), '-', 'reported'],
  ...Object.entries(concurrent.ratios).map(([name, value]) => [
    name,
    String(value),
    '>= 0.9',
    value >= 0.9 ? 'ok' : `MISSED (floor: ${floorOf(name)})`,
  ]),
]
/** The floors of a concurrent ratio (see cache-concurrent.ts), as printed next to it when it is missed. */
function floorOf(ratio: string): string {
  const f = concurrent.floors
  const ap = ratio.endsWith('_autopipelined')
  if (ratio.startsWith('l2_'))
    return `behind the breaker ${ap ? f.l2_behind_breaker_vs_raw_autopipelined : f.l2_behind_breaker_vs_raw}`
  return `behind the breaker ${ap ? f.set_behind_breaker_vs_raw_autopipelined : f.set_behind_breaker_vs_raw}, delivered back ${
    ap ? f.set_delivered_back_vs_raw_autopipelined : f.set_delivered_back_vs_raw
  }`
}
console.log('\nmetric                      value      target   status')
for (const [name, value, target, status] of rows) {
  console.log(`${name?.padEnd(28)}${value?.padEnd(11)}${target?.padEnd(9)}${status}`)
}
console.log('\nwrote bench/results/cache.json')
