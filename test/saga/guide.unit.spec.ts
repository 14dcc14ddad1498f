/**
 * Every snippet of docs/saga.md runs as printed: each `ts` block of the guide is a `#region` of a file that
 * is compiled and run (its import lines aside, whose names must be exports of the module they name), and
 * every such region is in the guide.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url).pathname
const guide = readFileSync(join(root, 'docs/saga.md'), 'utf8')
/** The files whose regions the guide shows, and what runs them. */
const SOURCES = ['test/saga/example.unit.spec.ts', 'test/saga/guide-crash-child.ts']

function regions(): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of SOURCES) {
    const source = readFileSync(join(root, file), 'utf8')
    for (const [, name, body] of source.matchAll(/\/\/ #region ([\w-]+)\n([\s\S]*?)\n\s*\/\/ #endregion \1/g)) {
      const lines = (body as string).split('\n')
      const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length))
      found.set(name as string, lines.map((l) => l.slice(indent)).join('\n'))
    }
  }
  return found
}

describe('docs/saga.md', () => {
  it('shows only snippets that are tested regions, with imports of real exports, and every region', async () => {
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1] as string)
    const tested = regions()
    expect(blocks.length).toBe(2)
    expect([...tested.keys()]).toEqual(['example', 'crash-testing'])
    const shown = new Set<string>()
    for (const block of blocks) {
      const lines = block.split('\n')
      let first = 0
      while (first < lines.length && (lines[first]!.startsWith('import ') || lines[first]!.trim() === '')) first++
      const body = lines.slice(first).join('\n')
      const name = [...tested].find(([, region]) => region === body)?.[0]
      expect(name, `a tested region reads:\n${body}`).toBeDefined()
      shown.add(name!)
      for (const line of lines.slice(0, first).filter((l) => l.trim() !== '')) {
        const match = /^import \{ (.+) \} from 'bulwark\/([\w/]+)'$/.exec(line)
        expect(match, line).not.toBeNull()
        const module = await import(join(root, 'src', match![2]!, 'index.ts'))
        for (const imported of match![1]!.split(',').map((n) => n.trim().replace(/^type /, ''))) {
          expect(Object.keys(module), `${imported} is exported by bulwark/${match![2]}`).toContain(imported)
        }
      }
    }
    expect([...shown].sort()).toEqual([...tested.keys()].sort())
  })

  it('the crash-testing snippet runs as printed: a seed, crashes, and the same crash again with SEED', () => {
    const run = (env: Record<string, string>) => {
      const child = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'test/saga/guide-crash-child.ts')], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, ...env },
      })
      return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr }
    }
    const { SEED: _unset, ...withoutSeed } = process.env
    const first = run(withoutSeed as Record<string, string>)
    const seed = /^crash points: seed (\d+)\n/.exec(first.stdout)?.[1]
    expect(seed, first.stdout + first.stderr).toBeDefined()
    // Killed by a crash point (tsx reports its child's SIGKILL as 128 + 9), after some orders, before all.
    expect([first.status ?? first.signal, first.stderr]).toEqual([137, ''])
    expect(first.stdout).not.toContain('order-1000')
    const replay = run({ SEED: seed! })
    expect(replay).toEqual(first)
  }, 60_000)
})
