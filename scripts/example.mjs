#!/usr/bin/env node
// `npm run example [-- --port-base N --reset --replicas inventory=2 ...]`: builds the library when its
// sources changed, installs the example from its lockfile when needed, compiles it, and starts the shop
// (the services seed their demo data on first start). Ctrl-C stops every process.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const repo = resolve(import.meta.dirname, '..')
const example = join(repo, 'examples/ecommerce')
const npm = (cwd, ...args) => {
  const r = spawnSync('npm', args, { cwd, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }, 0)

const built = join(repo, 'dist/index.js')
if (!existsSync(built) || newest(join(repo, 'src')) > statSync(built).mtimeMs) npm(repo, 'run', 'build')
if (!existsSync(join(example, 'node_modules'))) npm(example, 'ci', '--no-audit', '--no-fund')
npm(example, 'run', 'build')

const launcher = spawn(process.execPath, [join(example, 'dist/launcher/main.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
})
// Ctrl-C reaches the launcher too (same process group); it stops the services and exits, and so do we.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => launcher.kill(signal))
launcher.on('exit', (code) => process.exit(code ?? 0))
