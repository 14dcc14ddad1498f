import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
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

/** Every package (not relative file) that `file` reaches through its imports, type-only ones included. */
function packagesReachedFrom(file: string, seen = new Set<string>(), found = new Set<string>()): Set<string> {
  if (seen.has(file)) return found
  seen.add(file)
  for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
    if (fileName.startsWith('.'))
      packagesReachedFrom(resolve(dirname(file), fileName.replace(/\.js$/, '.ts')), seen, found)
    else found.add(fileName)
  }
  return found
}

describe('declarations', () => {
  const clients = ['ioredis', 'mongodb', 'pg', 'better-sqlite3', 'prom-client']
  // A memory-only user compiling with `skipLibCheck: false` must not need a client library's types:
  // only the adapter subpaths may reach one, even through `import type`.
  it.each(['.', './cache', './breaker', './eventstore', './saga', './testing'])(
    '%s reaches no client library, not even through types',
    (subpath) => {
      const entry = publicEntries(root).find((e) => e.subpath === subpath)
      if (entry === undefined) throw new Error(`no entry ${subpath}`)
      const reached = packagesReachedFrom(fileURLToPath(new URL(entry.source, root)))
      expect([...reached].filter((p) => clients.includes(p))).toEqual([])
    },
  )
})
