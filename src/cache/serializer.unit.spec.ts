import { afterEach, describe, expect, it } from 'vitest'
import { fakeClock } from '../testing/fake-clock.js'
import { memoryCacheDriver } from './adapters/memory.js'
import { createCache } from './create-cache.js'
import { jsonSerializer } from './serializer.js'

// A naive deep merge, as user code often has: it is what turns a parsed `__proto__` key into pollution.
function merge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const key in source) {
    const value = source[key]
    if (typeof value === 'object' && value !== null) {
      target[key] ??= {}
      merge(target[key] as Record<string, unknown>, value as Record<string, unknown>)
    } else {
      target[key] = value
    }
  }
  return target
}

const payloads = [
  '{"__proto__":{"polluted":"yes"},"a":1}',
  '{"a":{"b":{"__proto__":{"polluted":"yes"}}}}',
  '{"constructor":{"prototype":{"polluted":"yes"}},"a":1}',
  '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"},"a":1}',
  '[{"__proto__":{"polluted":"yes"}}]',
]

afterEach(() => {
  // Belt and braces: a failing case must not leak into the next one.
  delete (Object.prototype as Record<string, unknown>).polluted
})

describe('jsonSerializer', () => {
  it.each(payloads)('drops dangerous keys from %s, so merging the result pollutes nothing', (raw) => {
    const parsed = jsonSerializer.deserialize(raw)
    const items = Array.isArray(parsed) ? parsed : [parsed]
    for (const item of items) merge({}, item as Record<string, unknown>)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.stringify(parsed)).not.toMatch(/__proto__|prototype/)
  })

  it('keeps ordinary data, including keys that merely contain "proto" and a harmless constructor', () => {
    const value = { protocol: 'https', prototypeName: 'x', constructor: 'Widget', nested: [1, { é: 'ü' }] }
    expect(jsonSerializer.deserialize(jsonSerializer.serialize(value))).toEqual(value)
  })

  it('proves the naive merge is dangerous without the reviver', () => {
    merge({}, JSON.parse('{"__proto__":{"polluted":"yes"}}'))
    expect(({} as Record<string, unknown>).polluted).toBe('yes')
  })
})

describe('a cache reading a hostile L2 entry', () => {
  it('returns the payload without the dangerous keys', async () => {
    const clock = fakeClock(0)
    const l2 = memoryCacheDriver({ clock })
    await l2.set('bulwark:user', {
      value: '{"name":"eve","__proto__":{"isAdmin":true}}',
      version: 1,
      expiresAt: 60_000,
      staleUntil: 60_000,
    })
    const cache = createCache({ clock, l2 })
    const user = (await cache.get<Record<string, unknown>>('user')) as Record<string, unknown>
    expect(user).toEqual({ name: 'eve' })
    expect(Object.hasOwn(user, '__proto__')).toBe(false)
    expect(merge({}, user).isAdmin).toBeUndefined()
  })
})
