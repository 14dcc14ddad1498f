/**
 * The cluster case of `npm run bench:cache`, on a private three-master Redis Cluster it starts and
 * stops (the same helper as the integration tests):
 * - l2_hit_vs_raw_cluster: our L2 hit with L1 off / raw ioredis `Cluster.get` + `JSON.parse` (target <= 1.2)
 * - get_or_set_many_100_vs_raw_pipelined: `getOrSetMany` of 100 keys in L2 across slots (L1 off) /
 *   100 raw GETs + `JSON.parse` on an auto-pipelining Cluster client (one pipeline per master)
 * - driver_get_many_100_vs_raw_pipelined: the driver's `getMany` of the same keys (one MGET per slot
 *   group, one pipeline per master) / the same raw GETs: the cluster layer alone, without the engine
 *
 * Each raw key carries the hash tag of the entry it stands for, so both sides of a ratio talk to the
 * same master (masters of one machine answer at different speeds under load).
 *
 * Ratios as in the main file: the median over interleaved rounds of each round's median times. On a
 * loaded machine those blocks of 150 ms catch different load; `ratios_per_call` alternates the cases
 * call by call (1,000 calls each) and compares the median calls, which load hits alike.
 * `npm run bench:cache -- --cluster-only` runs just this and replaces the `cluster` key of the JSON.
 */
import { redisCacheDriver } from '../src/cache/adapters/redis.js'
import { slotGroups } from '../src/cache/adapters/redis-slots.js'
import { createCache } from '../src/cache/index.js'
import { startRedisCluster } from '../test/support/redis-cluster.js'
import { interleavedRounds, median } from './rounds.js'

const VALUE = { id: 42, name: 'Espresso machine', price: 249.9, tags: ['kitchen', 'coffee'], stock: 17 }
const ROUNDS = 9

const round2 = (n: number) => Math.round(n * 100) / 100

export interface ClusterBenchResult {
  ratios: {
    l2_hit_vs_raw_cluster: number
    get_or_set_many_100_vs_raw_pipelined: number
    driver_get_many_100_vs_raw_pipelined: number
  }
  ratios_per_call: ClusterBenchResult['ratios']
  targets: Record<keyof ClusterBenchResult['ratios'], string>
  times_ns: Record<string, { p50: number; avg: number }>
  masters: number
  slot_groups: number
  rounds: number
}

export async function clusterBench(): Promise<ClusterBenchResult> {
  const cluster = await startRedisCluster({ masters: 3 })
  const client = cluster.client()
  const pipelining = cluster.client({ enableAutoPipelining: true })
  try {
    await Promise.all([client.ping(), pipelining.ping()])
    const driver = redisCacheDriver({ client, keyPrefix: 'bench:' })
    const cache = createCache({ namespace: 'bench-cluster', ttl: '1h', l1: { enabled: false }, l2: driver })
    const keys = Array.from({ length: 100 }, (_, i) => `product:${i}`)
    await cache.set('product:42', VALUE)
    for (const key of keys) await cache.set(key, VALUE)
    const groups = slotGroups(256)
    const rawKey = (key: string) => `raw:${groups.tags[groups.groupOf(`bench-cluster:${key}`)]}${key}`
    const rawKeys = keys.map(rawKey)
    const RAW_KEY = rawKey('product:42')
    await client.set(RAW_KEY, JSON.stringify(VALUE))
    for (const key of rawKeys) await client.set(key, JSON.stringify(VALUE))
    const never = (): never => {
      throw new Error('the cluster benchmark must hit L2')
    }
    const fullKeys = keys.map((key) => `bench-cluster:${key}`)
    const many = await cache.getOrSetMany(keys, never)
    if (many.some((v) => (v as typeof VALUE | undefined)?.id !== 42)) throw new Error('getOrSetMany missed L2')

    const cases: Record<string, () => Promise<unknown>> = {
      'ioredis Cluster get + JSON.parse': async () => JSON.parse((await client.get(RAW_KEY)) as string),
      'bulwark getOrSet L2 hit on the cluster (L1 off)': () => cache.getOrSet('product:42', never),
      '100 raw GETs + JSON.parse, auto-pipelined': async () =>
        (await Promise.all(rawKeys.map((key) => pipelining.get(key)))).map((raw) => JSON.parse(raw as string)),
      'bulwark getOrSetMany 100 keys on the cluster (L1 off)': () => cache.getOrSetMany(keys, never),
      'bulwark driver getMany 100 keys on the cluster': () => driver.getMany(fullKeys),
    }
    const names = Object.keys(cases)
    const rounds = await interleavedRounds(cases as Record<string, () => Promise<unknown>>, ROUNDS)
    // Call by call: every case once per turn (in a rotating order, so none always follows the same one), 1,000 turns.
    const perCall: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]))
    for (let turn = 0; turn < 1_000; turn++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + turn) % names.length] as string
        const started = performance.now()
        await (cases[name] as () => Promise<unknown>)()
        perCall[name]?.push(performance.now() - started)
      }
    }
    const callRatio = (a: string, b: string) => round2(median(perCall[a] ?? []) / median(perCall[b] ?? []))
    const ratio = (a: string, b: string) =>
      round2(median(rounds.map((r) => (r[a]?.p50 ?? Number.NaN) / (r[b]?.p50 ?? Number.NaN))))
    await cache.clear()
    await cache.close()
    const pairs = (of: (a: string, b: string) => number): ClusterBenchResult['ratios'] => ({
      l2_hit_vs_raw_cluster: of('bulwark getOrSet L2 hit on the cluster (L1 off)', 'ioredis Cluster get + JSON.parse'),
      get_or_set_many_100_vs_raw_pipelined: of(
        'bulwark getOrSetMany 100 keys on the cluster (L1 off)',
        '100 raw GETs + JSON.parse, auto-pipelined',
      ),
      driver_get_many_100_vs_raw_pipelined: of(
        'bulwark driver getMany 100 keys on the cluster',
        '100 raw GETs + JSON.parse, auto-pipelined',
      ),
    })
    return {
      ratios: pairs(ratio),
      ratios_per_call: pairs(callRatio),
      targets: {
        l2_hit_vs_raw_cluster: '<= 1.2',
        get_or_set_many_100_vs_raw_pipelined: 'reported',
        driver_get_many_100_vs_raw_pipelined: 'reported',
      },
      times_ns: Object.fromEntries(
        names.map((name) => [
          name,
          {
            p50: round2(median(rounds.map((r) => r[name]?.p50 ?? Number.NaN))),
            avg: round2(median(rounds.map((r) => r[name]?.avg ?? Number.NaN))),
          },
        ]),
      ),
      masters: 3,
      slot_groups: 256,
      rounds: ROUNDS,
    }
  } finally {
    client.disconnect()
    pipelining.disconnect()
    await cluster.close()
  }
}
