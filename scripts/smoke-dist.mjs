// After `npm run build`: every public subpath loads from dist, as ESM and as CommonJS, through the
// package's own "exports" map (a self-reference, as a user's code would import it), and exposes names.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const require = createRequire(import.meta.url)
let failures = 0
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target !== 'object') continue
  const specifier = `${pkg.name}${subpath.slice(1)}`
  try {
    const esm = await import(specifier)
    const cjs = require(specifier)
    const names = Object.keys(esm).sort()
    if (names.length === 0) throw new Error('exports nothing')
    if (JSON.stringify(Object.keys(cjs).sort()) !== JSON.stringify(names)) throw new Error('ESM and CJS differ')
    console.log(`ok  ${specifier}: ${names.length} exports`)
  } catch (error) {
    failures++
    console.error(`FAIL ${specifier}: ${error.message}`)
  }
}
if (failures > 0) process.exit(1)
