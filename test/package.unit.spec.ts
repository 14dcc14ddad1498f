import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

type Target = { import: { types: string; default: string }; require: { types: string; default: string } }
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, Target | string>
  sideEffects: boolean
  peerDependenciesMeta: Record<string, { optional: boolean }>
}

describe('package.json', () => {
  const subpaths = Object.entries(pkg.exports).filter((e): e is [string, Target] => typeof e[1] === 'object')

  it('lists every public subpath the architecture promises', () => {
    expect(subpaths.map(([s]) => s).sort()).toEqual(
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

  it.each(subpaths)('%s builds from an existing source file, types first', (_subpath, target) => {
    expect(Object.keys(target.import)[0]).toBe('types')
    const source = target.import.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts')
    expect(existsSync(new URL(`../${source}`, import.meta.url))).toBe(true)
    expect(target.require.default).toBe(target.import.default.replace(/\.js$/, '.cjs'))
  })

  it('has no side effects and keeps client libraries optional', () => {
    expect(pkg.sideEffects).toBe(false)
    for (const client of ['ioredis', 'mongodb', 'pg', 'better-sqlite3', 'prom-client']) {
      expect(pkg.peerDependenciesMeta[client]?.optional).toBe(true)
    }
  })
})
