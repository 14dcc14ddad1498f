import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { publicEntries } from '../scripts/exports.js'
import * as rootExport from '../src/index.js'

const root = new URL('../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  sideEffects: boolean
  peerDependenciesMeta: Record<string, { optional: boolean }>
}

describe('the root `bulwark` export', () => {
  it('keeps errors, durations and the clock; internal helpers stay internal', () => {
    expect(Object.keys(rootExport).sort()).toEqual(
      [
        'AbortedError',
        'BulwarkError',
        'TimeoutError',
        'ValidationError',
        'isBulwarkError',
        'parseDuration',
        'systemClock',
        'throwIfAborted',
      ].sort(),
    )
  })
})

describe('package.json', () => {
  const entries = publicEntries(root)

  it('lists every public subpath the architecture promises', () => {
    expect(entries.map((e) => e.subpath).sort()).toEqual(
      [
        '.',
        './breaker',
        './breaker/prometheus',
        './cache',
        './cache/redis',
        './eventstore',
        './eventstore/mongodb',
        './eventstore/postgres',
        './eventstore/sqlite',
        './saga',
        './testing',
      ].sort(),
    )
  })

  it.each(entries.map((e) => [e.subpath, e] as const))(
    '%s builds from an existing source file, types first',
    (_, e) => {
      expect(Object.keys(e.target.import)[0]).toBe('types')
      expect(existsSync(new URL(e.source, root))).toBe(true)
      expect(e.target.require.default).toBe(e.target.import.default.replace(/\.js$/, '.cjs'))
    },
  )

  it('has no side effects and keeps client libraries optional', () => {
    expect(pkg.sideEffects).toBe(false)
    for (const client of ['ioredis', 'mongodb', 'pg', 'better-sqlite3', 'prom-client']) {
      expect(pkg.peerDependenciesMeta[client]?.optional).toBe(true)
    }
  })
})
