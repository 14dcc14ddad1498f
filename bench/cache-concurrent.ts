/**
 * The L2 path under concurrent load (issue 15): 100 callers share 30,000 operations over 1,000 keys,
 * L1 off, a ~300-byte payload, against the raw ioredis calls they stand on, on the same client.
 *
 * - reads: `getOrSet` L2 hits vs `GET` + `JSON.parse`
 * - writes: `set` (L2 write + bus publish) vs `SET PX` + `PUBLISH` of a message of the same size
 *
 * each on a plain client and on one with `enableAutoPipelining`. Throughput in ops/s; a round measures
 * every case once, in a rotating order, so a load spike hits both sides of a ratio.
 *
 * The floor: the same raw calls, each behind a circuit breaker configured as the cache's L2 breaker
 * (what the guarantee "a hung Redis opens the circuit" costs by itself, before any caching work); and
 * raw SET + PUBLISH on a channel this process listens on, as a cache's bus does (Redis pub/sub sends
 * every message back to the publisher's own subscription, which reads it and drops it).
 *
 * The ceiling: what batching alone does for the raw calls, with no caching work: the driver's and the bus's
 * own batches (src/cache/adapters/redis-reads.ts and redis-publishes.ts) on the raw client, the reads of a
 * tick as one `MGET` + `JSON.parse` each, and the `SET`s of a tick with one `PUBLISH` for all their keys.
 *
 * Run alone (for profiling): `node --cpu-prof --import tsx bench/cache-concurrent.ts`.
 */
import { Redis } from 'ioredis'
import type { CircuitBreaker } from '../src/breaker/index.js'
import { redisBus, redisCacheDriver } from '../src/cache/adapters/redis.js'
import { PublishBatch } from '../src/cache/adapters/redis-publishes.js'
import { ReadBatch } from '../src/cache/adapters/redis-reads.js'
import { type Cache, createCache } from '../src/cache/index.js'
import { l2Breaker } from '../src/cache/l2-breaker.js'
import { systemClock } from '../src/core/clock.js'
import { unlinkMatching } from '../test/support/redis-server.js'
import { median } from './rounds.js'

export const CALLERS = 100
export const OPERATIONS = 30_000
export const KEYS = 1_000

/** The ~300-byte value every key holds (a product record). */
export const PAYLOAD = {
  id: 0,
  sku: 'ESP-0000-KITCHEN',
  name: 'Espresso machine, 15 bar, stainless steel',
  description: 'A pump espresso machine with a steam wand, a 1.5 l tank and a cup warmer.',
  price: 249.9,
  currency: 'EUR',
  tags: ['kitchen', 'coffee', 'appliances'],
  stock: 17,
  updatedAt: '2026-11-26T00:49:30.985Z',
}

/** Runs `op(i)` for i in [0, OPERATIONS) on CALLERS concurrent callers; resolves to ops/s. */
async function throughput(op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0
  const caller = async () => {
    while (next < OPERATIONS) await op(next++)
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CALLERS }, caller))
  return OPERATIONS / ((performance.now() - started) / 1_000)
}

interface Side {
  cache: Cache
  client: Redis
}

export interface ConcurrentResult {
  ops_per_s: Record<string, number>
  floors: {
    l2_behind_breaker_vs_raw: number
    l2_behind_breaker_vs_raw_autopipelined: number
    set_behind_breaker_vs_raw: number
    set_behind_breaker_vs_raw_autopipelined: number
    set_delivered_back_vs_raw: number
    set_delivered_back_vs_raw_autopipelined: number
  }
  /** The raw calls through the driver's and the bus's batches alone, against the raw calls one by one. */
  batching_alone: {
    l2_vs_raw: number
    l2_vs_raw_autopipelined: number
    set_vs_raw: number
    set_vs_raw_autopipelined: number
  }
  ratios: {
    l2_concurrent_vs_raw: number
    l2_concurrent_vs_raw_autopipelined: number
    set_concurrent_vs_raw: number
    set_concurrent_vs_raw_autopipelined: number
  }
}

/**
 * Measures every case `rounds` times (interleaved); ratios are medians of the per-round ratios. Seven rounds:
 * on a shared 2-core machine one round's ratio moves by 10% or more.
 */
export async function concurrentL2(url: string, runId: string, rounds = 7): Promise<ConcurrentResult> {
  const keyPrefix = `${runId}:cc:`
  const keys = Array.from({ length: KEYS }, (_, i) => `product:${i}`)
  const value = (i: number) => ({ ...PAYLOAD, id: i })
  const open = async (autoPipelining: boolean): Promise<Side> => {
    const client = new Redis(url, { enableAutoPipelining: autoPipelining })
    const cache = createCache({
      namespace: `bench-cc-${autoPipelining ? 'ap' : 'plain'}`,
      ttl: '1h',
      l1: { enabled: false },
      l2: redisCacheDriver({ client, keyPrefix }),
      bus: redisBus({ client }),
    })
    await cache.ready()
    for (let i = 0; i < KEYS; i++) await cache.set(keys[i] as string, value(i))
    for (let i = 0; i < KEYS; i++)
      await client.set(`${keyPrefix}raw:${keys[i]}`, JSON.stringify(value(i)), 'PX', 3_600_000)
    return { cache, client }
  }
  const plain = await open(false)
  const pipelined = await open(true)
  const fail = () => {
    throw new Error('the concurrent benchmark must hit L2')
  }
  // A message of the size ours is: ["<uuid>","s",["<namespace>:product:123"],[1764118170985000]]
  const message = JSON.stringify([
    globalThis.crypto.randomUUID(),
    's',
    ['bench-cc-plain:product:123'],
    [1764118170985000],
  ])
  // A breaker as the cache makes its L2 breaker, with its defaults (src/cache/l2-breaker.ts).
  const breaker = l2Breaker({}, { namespace: 'bench-floor', clock: systemClock }) as CircuitBreaker
  // A channel this process listens on (messages are read and dropped), as a cache's own channel is.
  const listened = `${runId}:listened-channel`
  const listener = new Redis(url)
  listener.on('message', () => {})
  await listener.subscribe(listened)
  const cases: Record<string, (i: number) => Promise<unknown>> = {}
  for (const [label, side] of [
    ['plain', plain],
    ['autopipelined', pipelined],
  ] as const) {
    const { cache, client } = side
    cases[`raw GET+parse (${label})`] = async (i) =>
      JSON.parse((await client.get(`${keyPrefix}raw:${keys[i % KEYS]}`)) as string)
    cases[`getOrSet L2 hit (${label})`] = (i) => cache.getOrSet(keys[i % KEYS] as string, fail)
    cases[`raw SET+PUBLISH (${label})`] = async (i) => {
      await client.set(`${keyPrefix}raw:${keys[i % KEYS]}`, JSON.stringify(value(i % KEYS)), 'PX', 3_600_000)
      await client.publish(`${runId}:raw-channel`, message)
    }
    cases[`set (${label})`] = (i) => cache.set(keys[i % KEYS] as string, value(i % KEYS))
    cases[`floor: GET+parse behind the breaker (${label})`] = async (i) =>
      JSON.parse((await breaker.execute(() => client.get(`${keyPrefix}raw:${keys[i % KEYS]}`))) as string)
    // What a cache's channel costs on top: every message comes back to the publisher's own subscription.
    cases[`floor: SET+PUBLISH delivered back to a subscriber here (${label})`] = async (i) => {
      await client.set(`${keyPrefix}raw:${keys[i % KEYS]}`, JSON.stringify(value(i % KEYS)), 'PX', 3_600_000)
      await client.publish(listened, message)
    }
    const reads = new ReadBatch(
      (key) => client.get(key),
      (batch) => client.mget(batch),
    )
    cases[`batching alone: MGET of a tick's reads + parse (${label})`] = async (i) =>
      JSON.parse((await reads.get(`${keyPrefix}raw:${keys[i % KEYS]}`)) as string)
    const publishes = new PublishBatch((channel, raw) => client.publish(channel, raw))
    const source = globalThis.crypto.randomUUID()
    cases[`batching alone: SETs with one PUBLISH per tick (${label})`] = async (i) => {
      const key = `${keyPrefix}raw:${keys[i % KEYS]}`
      await client.set(key, JSON.stringify(value(i % KEYS)), 'PX', 3_600_000)
      await publishes.publish(`${runId}:raw-channel`, { source, type: 'set', keys: [key], versions: [i] })
    }
    cases[`floor: SET+PUBLISH behind the breaker (${label})`] = async (i) => {
      const payload = JSON.stringify(value(i % KEYS))
      await breaker.execute(() => client.set(`${keyPrefix}raw:${keys[i % KEYS]}`, payload, 'PX', 3_600_000))
      await breaker.execute(() => client.publish(`${runId}:raw-channel`, message))
    }
  }
  const names = Object.keys(cases)
  for (const name of names) await throughput(cases[name] as (i: number) => Promise<unknown>) // warm-up
  const measured: Record<string, number>[] = []
  for (let r = 0; r < rounds; r++) {
    const round: Record<string, number> = {}
    for (let n = 0; n < names.length; n++) {
      const name = names[(n + r) % names.length] as string
      round[name] = await throughput(cases[name] as (i: number) => Promise<unknown>)
    }
    measured.push(round)
  }
  const ratio = (ours: string, raw: string) =>
    Math.round(median(measured.map((r) => (r[ours] as number) / (r[raw] as number))) * 100) / 100
  const result: ConcurrentResult = {
    ops_per_s: Object.fromEntries(
      names.map((name) => [name, Math.round(median(measured.map((r) => r[name] as number)))]),
    ),
    floors: {
      l2_behind_breaker_vs_raw: ratio('floor: GET+parse behind the breaker (plain)', 'raw GET+parse (plain)'),
      l2_behind_breaker_vs_raw_autopipelined: ratio(
        'floor: GET+parse behind the breaker (autopipelined)',
        'raw GET+parse (autopipelined)',
      ),
      set_behind_breaker_vs_raw: ratio('floor: SET+PUBLISH behind the breaker (plain)', 'raw SET+PUBLISH (plain)'),
      set_behind_breaker_vs_raw_autopipelined: ratio(
        'floor: SET+PUBLISH behind the breaker (autopipelined)',
        'raw SET+PUBLISH (autopipelined)',
      ),
      set_delivered_back_vs_raw: ratio(
        'floor: SET+PUBLISH delivered back to a subscriber here (plain)',
        'raw SET+PUBLISH (plain)',
      ),
      set_delivered_back_vs_raw_autopipelined: ratio(
        'floor: SET+PUBLISH delivered back to a subscriber here (autopipelined)',
        'raw SET+PUBLISH (autopipelined)',
      ),
    },
    batching_alone: {
      l2_vs_raw: ratio("batching alone: MGET of a tick's reads + parse (plain)", 'raw GET+parse (plain)'),
      l2_vs_raw_autopipelined: ratio(
        "batching alone: MGET of a tick's reads + parse (autopipelined)",
        'raw GET+parse (autopipelined)',
      ),
      set_vs_raw: ratio('batching alone: SETs with one PUBLISH per tick (plain)', 'raw SET+PUBLISH (plain)'),
      set_vs_raw_autopipelined: ratio(
        'batching alone: SETs with one PUBLISH per tick (autopipelined)',
        'raw SET+PUBLISH (autopipelined)',
      ),
    },
    ratios: {
      l2_concurrent_vs_raw: ratio('getOrSet L2 hit (plain)', 'raw GET+parse (plain)'),
      l2_concurrent_vs_raw_autopipelined: ratio('getOrSet L2 hit (autopipelined)', 'raw GET+parse (autopipelined)'),
      set_concurrent_vs_raw: ratio('set (plain)', 'raw SET+PUBLISH (plain)'),
      set_concurrent_vs_raw_autopipelined: ratio('set (autopipelined)', 'raw SET+PUBLISH (autopipelined)'),
    },
  }
  listener.disconnect()
  await unlinkMatching(plain.client, `${keyPrefix}*`)
  for (const side of [plain, pipelined]) {
    await side.cache.close()
    side.client.disconnect()
  }
  return result
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const result = await concurrentL2(url, `bulwark-bench:${process.pid}:${Date.now()}`, Number(process.env.ROUNDS ?? 7))
  console.log(JSON.stringify(result, null, 2))
}
