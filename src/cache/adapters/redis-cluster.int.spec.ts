/**
 * The Redis driver and bus on a private three-master Redis Cluster (and on one without sharded
 * pub/sub, as Redis 6 is): both conformance suites, the key layout, and batches that cost one round
 * trip per master.
 */
import { readFileSync } from 'node:fs'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../../../test/support/redis-cluster.js'
import { cacheBusSuite, cacheDriverSuite } from '../../testing/cache-suites.js'
import { createCache } from '../create-cache.js'
import type { BusMessage } from '../types.js'
import { redisBus, redisCacheDriver } from './redis.js'
import { slotGroups, slotOf } from './redis-slots.js'

const run = `bulwark-test:cluster:${process.pid}`
let sequence = 0
const nextPrefix = () => `${run}:${sequence++}:`

/** Counts the socket writes (one per pipeline or command sent) on every master connection of `client`. */
function countWrites(client: Cluster): { perMaster(): Map<string, number>; stop(): void } {
  const counts = new Map<string, number>()
  const restore: (() => void)[] = []
  for (const node of client.nodes('master') as Redis[]) {
    const stream = node.stream
    const name = `${node.options.host}:${node.options.port}`
    counts.set(name, 0)
    const write = stream.write
    stream.write = function (this: typeof stream, ...args: Parameters<typeof write>) {
      counts.set(name, (counts.get(name) ?? 0) + 1)
      return write.apply(this, args)
    } as typeof write
    restore.push(() => {
      stream.write = write
    })
  }
  return {
    perMaster: () => new Map(counts),
    stop: () => {
      for (const undo of restore) undo()
    },
  }
}

describe('redis driver and bus on a three-master cluster', () => {
  let cluster: RedisCluster
  let client: Cluster

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 })
    client = cluster.client()
    await client.ping()
  })
  afterAll(async () => {
    client?.disconnect()
    await cluster?.close()
  })

  describe('with a ready Cluster client', () => {
    cacheDriverSuite('redis cluster (client)', ({ clock }) =>
      redisCacheDriver({ client, keyPrefix: nextPrefix(), clock }),
    )
    cacheBusSuite('redis cluster, sharded pub/sub (detected)', () => redisBus({ client }))
    cacheBusSuite('redis cluster, classic pub/sub', () => redisBus({ client, shardedPubSub: false }))
  })

  describe('with cluster nodes (owned Cluster)', () => {
    cacheDriverSuite('redis cluster (owned)', ({ clock }) =>
      redisCacheDriver({
        cluster: { nodes: [...cluster.startupNodes] },
        keyPrefix: nextPrefix(),
        clock,
        clearBatchSize: 100,
        slotGroups: 16,
      }),
    )
    cacheBusSuite('redis cluster (owned)', () => redisBus({ cluster: { nodes: [...cluster.startupNodes] } }))
  })

  it('the cluster snippet of docs/cache.md runs as printed', async () => {
    const nodes = [...cluster.startupNodes]
    // #region cluster-setup
    const redis = new Cluster(nodes, { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0 } })
    const cache = createCache({
      l2: redisCacheDriver({ client: redis }),
      bus: redisBus({ client: redis }), // sharded pub/sub on Redis 7, classic on Redis 6
    })
    await cache.ready()
    await cache.set('product:42', { name: 'Espresso machine' }, { tags: ['products'] })
    await cache.deleteByTag('products') // one script per slot group, one pipeline per master
    // #endregion cluster-setup
    expect(await cache.has('product:42')).toBe(false)
    await cache.close()
    redis.disconnect()
    const source = readFileSync(new URL(import.meta.url), 'utf8')
    const region = /\/\/ #region cluster-setup\n([\s\S]*?)\n\s*\/\/ #endregion cluster-setup/.exec(source)?.[1] ?? ''
    const snippet = region
      .split('\n')
      .map((line) => line.slice(4))
      .join('\n')
    const guide = readFileSync(new URL('../../../docs/cache.md', import.meta.url), 'utf8')
    expect(guide.includes(snippet)).toBe(true)
  })

  it('keeps an entry and its tag sets in one slot group, and spreads the groups evenly over the masters', async () => {
    const prefix = nextPrefix()
    const driver = redisCacheDriver({ client, keyPrefix: prefix })
    const groups = slotGroups(256)
    await driver.set('product:1', {
      value: '1',
      version: 1,
      expiresAt: Date.now() + 60_000,
      staleUntil: Date.now() + 60_000,
      tags: ['red', 'blue'],
    })
    const tag = groups.tags[groups.groupOf('product:1')] as string
    expect(await client.exists(`${prefix}${tag}k:product:1`)).toBe(1)
    expect(await client.smembers(`${prefix}${tag}tag:red`)).toEqual([`${prefix}${tag}k:product:1`])
    for (const key of [
      'foo',
      `${prefix}${tag}k:product:1`,
      'héllo wörld',
      'a{b}c',
      'x{}y',
      ...groups.tags.slice(0, 20),
    ]) {
      expect(slotOf(key)).toBe(await client.cluster('KEYSLOT', key))
    }
    const slot = slotOf(`${prefix}${tag}k:product:1`)
    expect(slotOf(`${prefix}${tag}tag:red`)).toBe(slot)
    // Each master owns a third of the slots, so a third of the groups.
    const shards = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][]
    const owners = groups.slots.map((s) => shards.find(([from, to]) => s >= from && s <= to)?.[2][1])
    const perMaster = [...new Set(owners)].map((port) => owners.filter((owner) => owner === port).length)
    expect(perMaster.sort()).toEqual([85, 85, 86])
  })

  it('sharded pub/sub: the channel lives on the shard that serves its slot', async () => {
    const channel = `${run}:shard-channel`
    const bus = redisBus({ client })
    const messages: BusMessage[] = []
    await bus.subscribe(channel, { message: (m) => messages.push(m) })
    const owner = await cluster.masterOf(channel)
    expect(await cluster.command(owner, 'PUBSUB', 'SHARDCHANNELS', channel)).toEqual([channel])
    expect(await cluster.command(owner, 'PUBSUB', 'CHANNELS', channel)).toEqual([])
    await bus.publish(channel, { source: 'x', type: 'clear', prefix: 'p:' })
    await vi.waitFor(() => expect(messages).toHaveLength(1))
    await bus.close()
  })

  it('sharded pub/sub: two channels in two slots of one master, both on one bus', async () => {
    const first = `${run}:pair:0`
    const owner = await cluster.masterOf(first)
    let second = ''
    for (let i = 1; second === ''; i++) {
      const candidate = `${run}:pair:${i}`
      if (slotOf(candidate) !== slotOf(first) && (await cluster.masterOf(candidate)) === owner) second = candidate
    }
    const bus = redisBus({ client, subscribeTimeout: 2_000 })
    const received: string[] = []
    await bus.subscribe(first, { message: () => received.push(first) })
    await bus.subscribe(second, { message: () => received.push(second) })
    await bus.publish(first, { source: 'x', type: 'clear', prefix: '' })
    await bus.publish(second, { source: 'x', type: 'clear', prefix: '' })
    await vi.waitFor(() => expect(received.sort()).toEqual([first, second].sort()))
    await bus.close()
  })

  it('classic pub/sub keeps the order of one publisher messages', async () => {
    const channel = `${run}:ordered`
    const [publisher, subscriber] = [
      redisBus({ client, shardedPubSub: false }),
      redisBus({ client, shardedPubSub: false }),
    ]
    const received: string[] = []
    await subscriber.subscribe(channel, { message: (m) => received.push(m.type === 'clear' ? m.prefix : '') })
    const sent = Array.from({ length: 200 }, (_, i) => String(i))
    await Promise.all(sent.map((prefix) => publisher.publish(channel, { source: 'x', type: 'clear', prefix })))
    await vi.waitFor(() => expect(received).toHaveLength(sent.length))
    expect(received).toEqual(sent)
    await Promise.all([publisher.close(), subscriber.close()])
  })

  it('moving the channel slot to another master: disconnected, then reconnected once re-subscribed there', async () => {
    const channel = `${run}:migrating`
    const bus = redisBus({ client })
    const events: string[] = []
    await bus.subscribe(channel, {
      message: (m) => events.push(`message:${m.type === 'clear' ? m.prefix : m.type}`),
      disconnected: () => events.push('disconnected'),
      reconnected: () => events.push('reconnected'),
    })
    const slot = slotOf(channel)
    const source = await cluster.masterOf(channel)
    const target = (await cluster.masters()).find((port) => port !== source) as number
    const targetId = (await cluster.command(target, 'CLUSTER', 'MYID')) as string
    for (const port of [target, source, ...cluster.ports.filter((p) => p !== target && p !== source)]) {
      await cluster.command(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', targetId)
    }
    await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected']), { timeout: 10_000 })
    expect(await cluster.command(target, 'PUBSUB', 'SHARDCHANNELS', channel)).toEqual([channel])
    await bus.publish(channel, { source: 'x', type: 'clear', prefix: 'moved:' })
    await vi.waitFor(() => expect(events).toEqual(['disconnected', 'reconnected', 'message:moved:']))
    await bus.close()
  })

  it('getOrSetMany over 1,000 keys in all slots: one read and one write round trip per master', async () => {
    const own = cluster.client({ enableAutoPipelining: false })
    await own.ping()
    // Node connections open on first use: open them all before counting.
    await Promise.all(own.nodes('master').map((node) => node.ping()))
    const driver = redisCacheDriver({ client: own, keyPrefix: nextPrefix() })
    const cache = createCache({ l2: driver, ttl: '1m' })
    const keys = Array.from({ length: 1_000 }, (_, i) => `item:${i}`)
    const writes = countWrites(own)
    try {
      const values = await cache.getOrSetMany(keys, (missing) => new Map(missing.map((key) => [key, key.length])))
      expect(values).toEqual(keys.map((key) => key.length))
      const perMaster = writes.perMaster()
      console.log(`getOrSetMany over 1,000 keys: socket writes per master ${JSON.stringify([...perMaster])}`)
      expect([...perMaster.values()]).toEqual([2, 2, 2])
      // A second call is all L1: no round trip at all. A fresh cache reads them back: one per master.
      await cache.getOrSetMany(keys, () => new Map())
      expect([...writes.perMaster().values()]).toEqual([2, 2, 2])
      const other = createCache({ l2: driver, ttl: '1m' })
      const loaded = vi.fn(() => new Map())
      expect(await other.getOrSetMany(keys, loaded)).toEqual(values)
      expect(loaded).not.toHaveBeenCalled()
      expect([...writes.perMaster().values()]).toEqual([3, 3, 3])
      await other.close()
    } finally {
      writes.stop()
      await cache.close()
      own.disconnect()
    }
  })
})

describe('redis bus on a cluster without sharded pub/sub (as Redis 6)', () => {
  let cluster: RedisCluster
  let client: Cluster
  beforeAll(async () => {
    const removed = ['SPUBLISH', 'SSUBSCRIBE', 'SUNSUBSCRIBE'].flatMap((name) => ['--rename-command', name, ''])
    cluster = await startRedisCluster({ masters: 3, args: removed })
    client = cluster.client()
    await client.ping()
  })
  afterAll(async () => {
    client?.disconnect()
    await cluster?.close()
  })

  cacheBusSuite('redis cluster without SPUBLISH (detected: classic)', () => redisBus({ client }))

  it('falls back to classic pub/sub by itself', async () => {
    const channel = `${run}:classic-channel`
    const bus = redisBus({ client })
    await bus.subscribe(channel, { message: () => {} })
    const subscribed = await Promise.all(
      cluster.ports.map((port) => cluster.command(port, 'PUBSUB', 'NUMSUB', channel) as Promise<[string, number]>),
    )
    expect(subscribed.reduce((sum, [, count]) => sum + count, 0)).toBe(1)
    await bus.close()
  })
})
