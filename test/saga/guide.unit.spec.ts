/**
 * Every snippet of docs/saga.md runs as printed: each `ts` block of the guide is a `#region` of a file that
 * is compiled and run (its import lines aside, whose names must be exports of the module they name), and
 * every such region is in the guide.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { memoryEventStore } from '../../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga } from '../../src/saga/index.js'
import { fakeClock } from '../../src/testing/index.js'
import { guideRegions } from '../support/guide-regions.js'

const root = new URL('../../', import.meta.url).pathname
const guide = readFileSync(join(root, 'docs/saga.md'), 'utf8')
/** The files whose regions the guide shows, and what runs them. */
const SOURCES = ['test/saga/example.unit.spec.ts', 'test/saga/guide-crash-child.ts']

function regions(): Map<string, string> {
  return new Map(
    SOURCES.flatMap((file) =>
      guideRegions(new URL(`../../${file}`, import.meta.url)).map(({ name, code }) => [name, code]),
    ),
  )
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

  it('names every definition rule where it is thrown: the definition DSL, or the orchestrator', async () => {
    const rules = guide.slice(guide.indexOf('A definition that breaks a rule'), guide.indexOf('## The orchestrator'))
    const [whereWritten = '', byOrchestrator = ''] = rules.split('Thrown by the orchestrator:')
    const ruleOf = async (fn: () => unknown) => {
      try {
        await fn()
      } catch (error) {
        return (error as { code?: string; context?: { rule?: string } }).code === 'E_SAGA_DEFINITION'
          ? (error as { context: { rule: string } }).context.rule
          : `not a definition error: ${error}`
      }
      return 'nothing thrown'
    }
    const run = () => undefined
    const s = () => defineSaga('order')
    const pivoted = () => s().step('ship', { kind: 'pivot', run })
    const thrownWhereWritten = await Promise.all([
      ruleOf(() => defineSaga('')),
      ruleOf(() => defineSaga('order', { deadline: 0 })),
      ruleOf(() => s().step('', { run, compensate: run })),
      ruleOf(() => s().step('a', { run, compensate: run }).step('a', { run, compensate: run })),
      ruleOf(() => s().step('a', { run })),
      ruleOf(() => s().step('a', { kind: 'pivot', run, compensate: run })),
      ruleOf(() => pivoted().step('a', { run, compensate: run })),
      ruleOf(() => s().step('a', { kind: 'retriable', run })),
      ruleOf(() => s().parallel([{ name: 'a', kind: 'pivot', run }])),
      ruleOf(() => s().parallel([])),
      ruleOf(() => s().step('a', { run: 'x' as never, compensate: run })),
    ])
    // The orchestrator's rules: a second definition under a name, a saga with no step, and a recorded saga
    // whose steps are not the registered definition's (found by recover() once the saga's lease ran out).
    const clock = fakeClock()
    const store = memoryEventStore({ clock })
    const first = createSagaOrchestrator({ store, clock, lease: 1_000 })
    const hanging = defineSaga('order').step('wait', {
      kind: 'pivot',
      run: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })
    const started = first.start(hanging, null, { sagaId: 'o-1' }).catch(() => undefined)
    await clock.advanceAsync(1)
    await first.close()
    await started
    clock.advance(2_000)
    const second = createSagaOrchestrator({ store, clock, lease: 1_000, sagas: [pivoted()] })
    const recovered = await second.recover()
    const thrownByOrchestrator = [
      await ruleOf(() => second.register(pivoted())),
      await ruleOf(() => second.start(defineSaga('empty'), null)),
      (recovered.failed[0]?.error as { context?: { rule?: string } } | undefined)?.context?.rule,
    ]
    expect(thrownByOrchestrator).toEqual(['duplicate-saga', 'no-steps', 'plan-mismatch'])
    expect(new Set(thrownWhereWritten).size).toBe(thrownWhereWritten.length)
    for (const rule of thrownWhereWritten) expect(whereWritten, rule).toContain(`\`${rule}\``)
    for (const rule of thrownByOrchestrator) expect(byOrchestrator, rule).toContain(`\`${rule}\``)
    await second.close()
  })

  it('the crash-testing snippet runs as printed: a seed, crashes, and the same crash again with SEED', () => {
    const run = (env: Record<string, string>) => {
      const child = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'test/saga/guide-crash-child.ts')], {
        cwd: root,
        encoding: 'utf8',
        // A wall-clock bound on a real child that kills itself at a crash point: generous, a hang is killed.
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
