import { execFileSync } from 'node:child_process'
import { getEventListeners } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isBulwarkError } from '../../core/errors.js'
import type { BusMessage, L2Entry } from '../types.js'
import { RedisBus, RedisCacheDriver, redisBus, redisCacheDriver } from './redis.js'
import { decodeMessage, encodeMessage } from './redis-bus-codec.js'
import { decodeEntry, encodeEntry, escapeGlob } from './redis-codec.js'
import { raceSignal } from './redis-connection.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

describe('redis entry codec', () => {
  it('round-trips entries with and without tags, whatever the value holds', () => {
    const entries: L2Entry[] = [
      { value: '{"a":1}', version: 1_700_000_000_123.25, expiresAt: 10, staleUntil: 20 },
      { value: '\n:\n', version: 2, expiresAt: 10, staleUntil: 20, tags: ['a:b', 'new\nline', '["x"]'] },
      { value: '', version: 0, expiresAt: 0, staleUntil: Number.POSITIVE_INFINITY },
    ]
    for (const entry of entries) expect(decodeEntry(encodeEntry(entry))).toEqual(entry)
  })

  it('reads header numbers as Number does: digits in place, anything else through Number', () => {
    const numbers = [0, 7, 1_764_118_170_985_000, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e16, 1e21]
    for (const n of [...numbers, 12.5, -3, Number.POSITIVE_INFINITY]) {
      expect(decodeEntry(encodeEntry({ value: 'v', version: n, expiresAt: n, staleUntil: n }))).toEqual({
        value: 'v',
        version: n,
        expiresAt: n,
        staleUntil: n,
      })
    }
    expect(decodeEntry('0012:0:99999999999999999\nv')).toEqual({
      value: 'v',
      version: 12,
      expiresAt: 0,
      staleUntil: Number('99999999999999999'),
    })
  })

  it('stores the header in a few bytes before the value', () => {
    expect(encodeEntry({ value: '"v"', version: 7, expiresAt: 100, staleUntil: 200, tags: ['t'] })).toBe(
      '7:100:200:["t"]\n"v"',
    )
  })

  it('reads anything that is not an entry as absent', () => {
    for (const raw of ['', 'plain value', '1:2\nvalue', 'a:b:c\nvalue', '1:2:3:[1]\nv', '1:2:3:{bad\nv']) {
      expect(decodeEntry(raw)).toBeUndefined()
    }
  })

  it('escapes glob characters so a prefix matches only itself', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f')
  })
})

describe('redis bus message codec', () => {
  const messages: BusMessage[] = [
    { source: 's', type: 'set', keys: ['a', 'b'], versions: [1, 2.5] },
    { source: 's', type: 'delete', keys: ['a'] },
    { source: 's', type: 'deleteByTags', prefix: 'ns:', tags: ['x'] },
    { source: 's', type: 'clear', prefix: 'ns:' },
  ]

  it('round-trips every message type in a compact array form', () => {
    for (const message of messages) expect(decodeMessage(encodeMessage(message))).toEqual(message)
    expect(encodeMessage(messages[3] as BusMessage)).toBe('["s","c","ns:"]')
  })

  it('encodes a set message as JSON.stringify of its array would, whichever source came before', () => {
    const sources = ['a', 'b"\\\u2028', 'a', 'é', 'é']
    for (const source of sources) {
      const message: BusMessage = { source, type: 'set', keys: ['k"1', 'ns:\n'], versions: [1_700_000_000_123.25, 2] }
      expect(encodeMessage(message)).toBe(JSON.stringify([source, 's', message.keys, message.versions]))
      expect(decodeMessage(encodeMessage(message))).toEqual(message)
    }
  })

  it('ignores malformed messages and cannot be used to pollute prototypes', () => {
    const bad = [
      'not json',
      '{"source":"s","type":"clear","prefix":""}',
      '["s","s",["a"],[1,2]]',
      '["s","s",["a"],["1"]]',
      '["s","x","p"]',
      '[1,"c","p"]',
    ]
    for (const raw of bad) expect(decodeMessage(raw)).toBeUndefined()
    const decoded = decodeMessage('["s","c","p",{"__proto__":{"polluted":true}}]')
    expect(decoded).toEqual({ source: 's', type: 'clear', prefix: 'p' })
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined()
  })
})

describe('redis adapters: options', () => {
  const invalid: [string, () => unknown, RegExp][] = [
    ['client', () => redisCacheDriver({ client: {} as never }), /`client` to be an ioredis client/],
    ['url', () => redisCacheDriver({ url: 'http://localhost' }), /`url` to be a redis:\/\/ or rediss:\/\/ URL/],
    ['keyPrefix', () => redisCacheDriver({ keyPrefix: 5 as never, url: 'redis://x' }), /`keyPrefix` to be a string/],
    ['clearBatchSize', () => redisCacheDriver({ clearBatchSize: 0, url: 'redis://x' }), /`clearBatchSize`/],
    ['options', () => redisCacheDriver('redis://x' as never), /`options` to be an options object/],
    ['bus url', () => redisBus({ url: 'localhost:6379' }), /`url`/],
    ['subscribeTimeout', () => redisBus({ subscribeTimeout: 'soon' as never, url: 'redis://x' }), /`subscribeTimeout`/],
    ['onError', () => redisBus({ onError: 1 as never, url: 'redis://x' }), /`onError` to be a function/],
    ['slotGroups', () => redisCacheDriver({ slotGroups: 2_000, url: 'redis://x' }), /`slotGroups`/],
    ['slotGroups 0', () => redisCacheDriver({ slotGroups: 0, url: 'redis://x' }), /`slotGroups`/],
    ['cluster', () => redisCacheDriver({ cluster: { nodes: [] } }), /`cluster`/],
    ['cluster with url', () => redisBus({ cluster: { nodes: [{ port: 1 }] }, url: 'redis://x' }), /`cluster`/],
    [
      'keyPrefix with a hash tag on a cluster',
      () => redisCacheDriver({ cluster: { nodes: [{ port: 1 }] }, keyPrefix: '{shop}:' }),
      /`keyPrefix`/,
    ],
    ['shardedPubSub', () => redisBus({ shardedPubSub: 'yes' as never, url: 'redis://x' }), /`shardedPubSub`/],
  ]

  it.each(invalid)('rejects a bad %s with a typed error, before connecting', (_, create, message) => {
    expect(create).toThrowError(message)
    try {
      create()
    } catch (e) {
      expect(isBulwarkError(e, 'E_INVALID_OPTION')).toBe(true)
    }
  })

  it('refuses a client together with connection options', () => {
    const client = { duplicate: () => client }
    expect(() => redisCacheDriver({ client: client as never, url: 'redis://x' })).toThrowError(/given alone/)
  })

  it('exports the classes the factories build', () => {
    expect(RedisCacheDriver.name).toBe('RedisCacheDriver')
    expect(RedisBus.name).toBe('RedisBus')
  })

  it('does not load ioredis when bulwark/cache or bulwark/cache/redis is imported, only when a client must be created', () => {
    const script = `
      const Module = require('node:module')
      const loaded = () => Object.keys(Module._cache).some((p) => p.includes('/node_modules/ioredis/'))
      Promise.all([import('./src/cache/index.ts'), import('./src/cache/adapters/redis.ts')]).then(([, m]) => {
        const before = loaded()
        m.redisCacheDriver({ url: 'redis://127.0.0.1:1', connection: { lazyConnect: true } })
        console.log(JSON.stringify({ before, after: loaded() }))
      })`
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ['-e', script], { cwd: root, encoding: 'utf8' })
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual({ before: false, after: true })
  })
})

describe('raceSignal', () => {
  it('calls sharing a signal share one abort listener, and an abort rejects every one still waiting', async () => {
    const controller = new AbortController()
    const settled = Promise.resolve('done')
    expect(await raceSignal(settled, controller.signal)).toBe('done')
    const never = new Promise<string>(() => {})
    const waiting = Array.from({ length: 100 }, () => raceSignal(never, controller.signal))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    const outcomes = await Promise.allSettled(waiting)
    expect(outcomes.every((o) => o.status === 'rejected' && isBulwarkError(o.reason, 'E_ABORTED'))).toBe(true)
  })

  it('passes results and errors through, and rejects at once on an aborted signal', async () => {
    const signal = new AbortController().signal
    await expect(raceSignal(Promise.reject(new Error('boom')), signal)).rejects.toThrow('boom')
    await expect(raceSignal(Promise.resolve(1), AbortSignal.abort())).rejects.toSatisfy((e) =>
      isBulwarkError(e, 'E_ABORTED'),
    )
    expect(await raceSignal(Promise.resolve(2), undefined)).toBe(2)
  })
})

describe('clients the adapters create', () => {
  // lazyConnect: the options are checked without a server.
  it('auto-pipeline by default (issue 15), unless the connection options turn it off', async () => {
    const driver = redisCacheDriver({ connection: { lazyConnect: true } })
    const off = redisCacheDriver({ connection: { lazyConnect: true, enableAutoPipelining: false } })
    try {
      expect(driver.client.options.enableAutoPipelining).toBe(true)
      expect(off.client.options.enableAutoPipelining).toBe(false)
    } finally {
      await Promise.all([driver.close(), off.close()])
    }
  })

  it('a created Cluster does not auto-pipeline (ioredis Cluster auto-pipelining never recovered from a failover)', async () => {
    const driver = redisCacheDriver({
      cluster: { nodes: [{ host: '127.0.0.1', port: 1 }], options: { lazyConnect: true } },
    })
    try {
      expect(driver.client.isCluster).toBe(true)
      expect(driver.client.options.enableAutoPipelining).toBe(false)
    } finally {
      await driver.close()
    }
  })
})
