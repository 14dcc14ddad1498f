import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

it('bulwark/testing loads outside a test runner (crash-test children import it)', () => {
  const script = [
    "import { crashPoints, fakeClock, eventStoreSuite } from './src/testing/index.ts'",
    'const clock = fakeClock(0)',
    'clock.advance(5)',
    "const points = crashPoints({ probability: 0, seed: 1, kill: () => { throw new Error('no') } })",
    'console.log(JSON.stringify({ now: clock.now(), suite: typeof eventStoreSuite, points: typeof points }))',
  ].join('\n')
  const out = execFileSync(`${root}node_modules/.bin/tsx`, ['--eval', script], { cwd: root, encoding: 'utf8' })
  expect(JSON.parse(out)).toEqual({ now: 5, suite: 'function', points: 'object' })
})
