import { defineConfig } from 'tsup'
import { publicEntries } from './scripts/exports.js'

/**
 * The build's entries come from package.json "exports" (see scripts/exports.ts): a subpath is public
 * exactly when it is built, and nothing else is an entry.
 */
const entry = Object.fromEntries(publicEntries(new URL('./', import.meta.url)).map((e) => [e.name, e.source]))

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
