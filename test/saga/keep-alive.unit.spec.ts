/**
 * A timer that a caller's pending promise waits on keeps the process alive: a script that awaits a saga
 * ends with its result and exit code 0, not with Node's 13 ("unsettled top-level await") because the only
 * pending timer was unref'd.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url).pathname

function runScript(variant: string) {
  const result = spawnSync(
    join(root, 'node_modules/.bin/tsx'),
    [join(root, 'test/saga/keep-alive-child.ts'), variant],
    {
      cwd: root,
      encoding: 'utf8',
      // A wall-clock bound: what is tested is that a real process on the system clock exits by itself, which
      // no fake clock can stand in for. Generous (each script exits within a few seconds); a hang is killed.
      timeout: 30_000,
    },
  )
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Per variant of the script: what its saga waits on, and the state it must print. */
const cases: Record<string, [string, object]> = {
  retriable: [
    'a retriable step fails once: the saga backoff',
    { status: 'completed', outputs: { mail: 'sent on call 2' } },
  ],
  retry: [
    'a step fails once: its retry policy backoff',
    { status: 'completed', outputs: { charge: 'paid on call 2' } },
  ],
  timeout: ['a step hangs until its timeout', { status: 'aborted', failure: { code: 'E_TIMEOUT', step: 'reserve' } }],
  deadline: ['a step hangs until the saga deadline', { status: 'aborted', failure: { code: 'E_SAGA_DEADLINE' } }],
}

describe('a script awaiting a saga ends with its result', () => {
  for (const [variant, [what, expected]] of Object.entries(cases)) {
    it(`${variant}: ${what}`, () => {
      const { status, stdout, stderr } = runScript(variant)
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' })
      expect(JSON.parse(stdout)).toMatchObject(expected)
    }, 60_000)
  }
})
