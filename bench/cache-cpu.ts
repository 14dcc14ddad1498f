/**
 * CPU per L2 hit under 100 concurrent callers (issue 15), measured as this process's own CPU time
 * (`process.cpuUsage()`) per operation rather than as throughput: on a shared machine Redis and other jobs
 * move throughput far more than they move the CPU this process spends per call. L1 off, 1,000 keys, a
 * ~300-byte payload, one auto-pipelined client; eleven interleaved rounds of 100,000 operations, medians.
 *
 * - `raw`: `GET` + `JSON.parse`
 * - `getOrSet`: an L2 hit through the cache
 * - `getOrSet, no breaker`: the same with `breaker: false` (what the L2 breaker costs per hit)
 * - `same shape by hand`: a call object with two handlers and the caller's promise, the entry's header
 *   sliced off and the value parsed — the structure of the cache's hit path with none of its work
 *
 * `npm run bench:cache:cpu` (REDIS_URL, default redis://127.0.0.1:6379; CPU_ROUNDS, default 11). Prints µs per
 * operation.
 */
import { Redis } from 'ioredis'
import { redisBus, redisCacheDriver } from '../src/cache/adapters/redis.js'
import { createCache } from '../src/cache/index.js'
import { unlinkMatching } from '../test/support/redis-server.js'
import { PAYLOAD } from './cache-concurrent.js'
import { median } from './rounds.js'

const CALLERS = 100
const KEYS = 1_000

/** This process's CPU time in µs per operation for `operations` calls of `op` on CALLERS callers. */
async function cpuPerOp(op: (i: number) => Promise<unknown>, operations: number): Promise<number> {
  let next = 0
  const caller = async () => {
    while (next < operations) await op(next++ % KEYS)
  }
  const before = process.cpuUsage()
  await Promise.all(Array.from({ length: CALLERS }, caller))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / operations
}

/** The cache's hit path reduced to its shape: one object, two handlers, the caller's promise. */
class HandMadeCall {
  readonly promise: Promise<unknown>
  readonly onValue: (reply: unknown) => void
  readonly onError: (error: unknown) => void
  #resolve!: (value: unknown) => void
  #reject!: (error: unknown) => void

  constructor(readonly key: string) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.onValue = (reply) => {
      const raw = reply as string
      this.#resolve(JSON.parse(raw.slice(raw.indexOf('\n') + 1)))
    }
    this.onError = (error) => this.#reject(error)
  }
}

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `bulwark-bench-cpu:${process.pid}:`
const client = new Redis(url, { enableAutoPipelining: true })
const open = (namespace: string, breaker: false | undefined) =>
  createCache({
    namespace,
    ttl: '1h',
    l1: { enabled: false },
    breaker,
    l2: redisCacheDriver({ client, keyPrefix: prefix }),
    bus: redisBus({ client }),
  })
const cache = open('cpu', undefined)
const unguarded = open('cpu-nb', false)
await Promise.all([cache.ready(), unguarded.ready()])
for (let i = 0; i < KEYS; i++) {
  const value = { ...PAYLOAD, id: i }
  await cache.set(`p:${i}`, value)
  await unguarded.set(`p:${i}`, value)
  await client.set(`${prefix}raw:p:${i}`, JSON.stringify(value), 'PX', 3_600_000)
}
const fail = () => {
  throw new Error('the CPU benchmark must hit L2')
}
// The cache's own key for `p:i` (driver prefix, `k:`, namespace): what the hand-made call reads.
const cacheKeys = Array.from({ length: KEYS }, (_, i) => `${prefix}k:cpu:p:${i}`)
const cases: Record<string, (i: number) => Promise<unknown>> = {
  raw: (i) => client.get(`${prefix}raw:p:${i}`).then((s) => JSON.parse(s as string)),
  getOrSet: (i) => cache.getOrSet(`p:${i}`, fail),
  'getOrSet, no breaker': (i) => unguarded.getOrSet(`p:${i}`, fail),
  'same shape by hand': (i) => {
    const call = new HandMadeCall(cacheKeys[i] as string)
    client.get(call.key).then(call.onValue, call.onError)
    return call.promise
  },
}
if ((await client.get(cacheKeys[0] as string)) === null) throw new Error(`no entry at ${cacheKeys[0]}`)
for (const op of Object.values(cases)) await cpuPerOp(op, 20_000) // warm-up
const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
for (let r = 0; r < Number(process.env.CPU_ROUNDS ?? 11); r++) {
  for (const [name, op] of Object.entries(cases)) rounds[name]?.push(await cpuPerOp(op, 100_000))
}
const raw = median(rounds.raw as number[])
for (const [name, values] of Object.entries(rounds)) {
  const m = median(values)
  console.log(`${name.padEnd(22)} ${m.toFixed(2)} µs/op  (x${(m / raw).toFixed(2)} of raw)`)
}
await Promise.all([cache.close(), unguarded.close()])
await unlinkMatching(client, `${prefix}*`)
client.disconnect()
