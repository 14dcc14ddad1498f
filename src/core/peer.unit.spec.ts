/**
 * Each adapter's subpath, bundled with its dependencies but not its peers (as a user installs it), then run by a
 * plain `node` in a folder from which no driver can be resolved, as in a project that installed
 * Bulwark without the peer: the import must succeed, and the factory must throw E_MISSING_PEER with
 * the install command. The same bundle run where the drivers resolve works, so the test cannot pass
 * because of a broken bundle.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url).pathname
const peers = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }
).peerDependencies

const cases = [
  {
    subpath: 'bulwark/eventstore/sqlite',
    source: 'src/eventstore/adapters/sqlite.ts',
    peer: 'better-sqlite3',
    use: `const s = m.sqliteEventStore({ path: ':memory:' }); await s.close()`,
  },
  {
    subpath: 'bulwark/eventstore/postgres',
    source: 'src/eventstore/adapters/postgres.ts',
    peer: 'pg',
    use: `const s = m.postgresEventStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }); await s.close()`,
  },
  {
    subpath: 'bulwark/eventstore/mongodb',
    source: 'src/eventstore/adapters/mongodb.ts',
    peer: 'mongodb',
    use: `const s = m.mongoEventStore({ url: 'mongodb://127.0.0.1:1/none' }); await s.close()`,
  },
  {
    subpath: 'bulwark/breaker/prometheus',
    source: 'src/breaker/adapters/prometheus.ts',
    peer: 'prom-client',
    use: `m.prometheusExporter([]).unregister()`,
  },
  {
    subpath: 'bulwark/cache/redis',
    source: 'src/cache/adapters/redis.ts',
    peer: 'ioredis',
    use: `const d = m.redisCacheDriver({ url: 'redis://127.0.0.1:1' }); await d.close()`,
  },
]

// A folder with no node_modules above it (the system temp folder), and one inside this repository.
const isolated = mkdtempSync(join(tmpdir(), 'bulwark-peers-'))
const resolvable = join(root, 'node_modules', '.cache', `bulwark-peers-${process.pid}`)

beforeAll(async () => {
  mkdirSync(resolvable, { recursive: true })
  for (const [i, c] of cases.entries()) {
    const outfile = join(isolated, `entry-${i}.mjs`)
    await build({
      entryPoints: [join(root, c.source)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Bulwark's own dependencies (eventemitter3, lru-cache) are installed with it: bundled here.
      // The peers stay imports, as in the published build.
      external: Object.keys(peers),
      outfile,
      logLevel: 'silent',
    })
    writeFileSync(join(resolvable, `entry-${i}.mjs`), readFileSync(outfile))
    const script = `
      let imported = false
      try {
        const m = await import('./entry-${i}.mjs')
        imported = true
        ${c.use}
        console.log(JSON.stringify({ imported, ok: true }))
      } catch (e) {
        console.log(JSON.stringify({ imported, code: e.code, message: e.message, context: e.context }))
      }
      process.exit(0)
    `
    writeFileSync(join(isolated, `run-${i}.mjs`), script)
    writeFileSync(join(resolvable, `run-${i}.mjs`), script)
  }
}, 60_000)

afterAll(() => {
  rmSync(isolated, { recursive: true, force: true })
  rmSync(resolvable, { recursive: true, force: true })
})

function run(dir: string, i: number): Record<string, unknown> {
  const env = { ...process.env }
  delete env.NODE_PATH
  delete env.NODE_OPTIONS
  const child = spawnSync(process.execPath, [join(dir, `run-${i}.mjs`)], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  })
  const line = child.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    throw new Error(`no result from the child: ${child.stdout}\n${child.stderr}`)
  }
}

describe.each(cases.map((c, i) => [c.subpath, c, i] as const))('%s without its driver', (_name, c, i) => {
  it(`cannot resolve ${c.peer} from the scratch folder (the premise of this test)`, () => {
    expect(() => createRequire(join(isolated, 'x.js')).resolve(c.peer)).toThrow(/Cannot find module/)
  })

  it('imports, and its factory throws E_MISSING_PEER with the install command and range', () => {
    const range = peers[c.peer] as string
    expect(range).toBeTruthy()
    const result = run(isolated, i)
    expect(result).toMatchObject({ imported: true, code: 'E_MISSING_PEER' })
    expect(result.message).toBe(
      `\`${c.subpath}\` needs the optional peer dependency \`${c.peer}\` (${range}), which is not installed. Install it: npm install "${c.peer}@${range}"`,
    )
    expect(result.context).toMatchObject({ peer: c.peer, range, feature: c.subpath })
  })

  it('works where the driver resolves (the same bundle)', () => {
    expect(run(resolvable, i)).toEqual({ imported: true, ok: true })
  })
})
