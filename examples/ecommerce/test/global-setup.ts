import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * The example is a user of the built library: build it when dist/ is missing, install the example from its
 * lockfile when its node_modules is missing, and compile the example, once before its tests.
 */
export default function setup() {
  const example = resolve(import.meta.dirname, '..')
  const repo = resolve(example, '../..')
  const run = (cwd: string, ...args: string[]) => execFileSync('npm', args, { cwd, stdio: 'inherit' })
  if (!existsSync(join(repo, 'dist/index.js'))) run(repo, 'run', 'build')
  if (!existsSync(join(example, 'node_modules'))) run(example, 'ci', '--no-audit', '--no-fund')
  run(example, 'run', 'build')
}
