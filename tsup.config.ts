import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

/**
 * The build's entries come from package.json "exports": `./dist/cache/index.js` is built from
 * `src/cache/index.ts`. A subpath is public exactly when it is built, and nothing else is an entry.
 */
type ExportTarget = { import: { default: string } }
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, ExportTarget | string>
}
const entry = Object.fromEntries(
  Object.values(pkg.exports)
    .filter((target): target is ExportTarget => typeof target === 'object')
    .map((target) => {
      const name = target.import.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '')
      return [name, `src/${name}.ts`]
    }),
)

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: true,
  shims: true,
  treeshake: true,
  // The conformance suites in bulwark/testing run inside the user's own vitest: never bundle it.
  external: ['vitest'],
})
