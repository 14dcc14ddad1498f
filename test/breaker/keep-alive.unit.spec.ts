/**
 * A timer that a caller's pending promise waits on (retry's backoff, a timeout, a half-open probe's deadline)
 * must keep the process alive: with it unref'd, a script whose only pending work is that promise exits with
 * code 13 ("unsettled top-level await") and never prints its result. Each case runs a script in a child
 * process on the real clock, as a user would run it, and requires its output and exit code 0.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = `${root}.tmp/keep-alive-${process.pid}`
const breakerIndex = `${root}src/breaker/index.ts`
mkdirSync(dir, { recursive: true })
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function runScript(name: string, code: string): { status: number | null; stdout: string; stderr: string } {
  const file = `${dir}/${name}.ts`
  writeFileSync(file, code.replaceAll("'bulwark/breaker'", JSON.stringify(breakerIndex)))
  // A wall-clock bound: what is tested is that a real process on the system clock exits by itself, which no
  // fake clock can stand in for. Generous (each script exits within a few seconds); a hang is killed.
  const child = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 30_000 })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

/** The README's breaker example, as printed. */
function readmeBreakerExample(): string {
  const readme = readFileSync(`${root}README.md`, 'utf8')
  const section = readme.slice(readme.indexOf('### Breaker'))
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  if (code === undefined) throw new Error('no breaker example in the README')
  return code
}

it("the README's breaker example runs to its end when the fetch fails, and exits 0", () => {
  const code = readmeBreakerExample()
  expect(code).toContain("fetch('https://prices.internal/v1'")
  const result = runScript('readme-breaker', code)
  expect(result, result.stderr).toMatchObject({ status: 0 })
  expect(result.stdout).toContain('prices: []') // the fetch failed three times; the fallback answered
}, 40_000)

it('await retry(...).execute(fn) alone completes when fn fails once', () => {
  const result = runScript(
    'retry-once',
    `import { retry } from 'bulwark/breaker'
let calls = 0
const value = await retry({ attempts: 2, backoff: { initial: '20ms' } }).execute(() => {
  if (calls++ === 0) throw new Error('once')
  return 'second attempt'
})
console.log(value)
`,
  )
  expect(result, result.stderr).toMatchObject({ status: 0, stdout: 'second attempt\n' })
}, 40_000)

it("a timeout releases its caller at the deadline when the function's promise never settles", () => {
  const result = runScript(
    'timeout-hung',
    `import { timeout } from 'bulwark/breaker'
const error = await timeout('20ms').execute(() => new Promise(() => {})).catch((e) => e)
console.log(error.code)
`,
  )
  expect(result, result.stderr).toMatchObject({ status: 0, stdout: 'E_TIMEOUT\n' })
}, 40_000)

it("a half-open probe's deadline releases its caller when the probe never settles", () => {
  const result = runScript(
    'probe-hung',
    `import { circuitBreaker } from 'bulwark/breaker'
const breaker = circuitBreaker({ consecutiveFailures: 1, openDuration: '10ms', halfOpen: { deadline: '20ms' } })
await breaker.execute(() => { throw new Error('down') }).catch(() => {})
await new Promise((resolve) => setTimeout(resolve, 15))
const error = await breaker.execute(() => new Promise(() => {})).catch((e) => e)
console.log(breaker.state, error.code)
`,
  )
  expect(result, result.stderr).toMatchObject({ status: 0, stdout: 'open E_TIMEOUT\n' })
}, 40_000)
