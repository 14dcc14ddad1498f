/**
 * One million calls through one breaker leave its memory flat. The measurement runs in a child process
 * started with --expose-gc, so full collections can be forced before and after.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const probe = fileURLToPath(new URL('../../test/support/breaker-memory-probe.ts', import.meta.url))

it('one million calls through one breaker leave the heap flat (< 2 MB growth), for both window types', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', probe], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    timeout: 60_000,
  })
  const results = JSON.parse(stdout) as Record<'count' | 'time', { growthBytes: number; calls: number; opened: number }>
  for (const type of ['count', 'time'] as const) {
    expect(results[type].calls).toBeGreaterThan(1_000_000)
    expect(results[type].opened).toBeGreaterThan(0)
    expect(results[type].growthBytes).toBeLessThan(2 * 1024 * 1024)
  }
}, 60_000)
