/**
 * The one rule that ties package.json "exports" to the sources: the subpath whose ESM target is
 * `./dist/cache/index.js` is built from `src/cache/index.ts`. The build (tsup.config.ts) and the tests
 * that check the package and compile the README read the exports map through this module only.
 */
import { readFileSync } from 'node:fs'

/** One public subpath of the package. */
export interface PublicEntry {
  /** As in package.json: `'.'`, `'./cache'`... */
  subpath: string
  /** What a user imports: `'bulwark'`, `'bulwark/cache'`... */
  specifier: string
  /** The build entry name, also the path under `dist/` without extension: `'cache/index'`. */
  name: string
  /** The source file, relative to the package root: `'src/cache/index.ts'`. */
  source: string
  /** The export conditions as written in package.json. */
  target: ExportTarget
}

export interface ExportTarget {
  import: { types: string; default: string }
  require: { types: string; default: string }
}

/** Every public subpath of the package at `root` (a URL of its folder, ending in `/`). */
export function publicEntries(root: URL): PublicEntry[] {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    name: string
    exports: Record<string, ExportTarget | string>
  }
  return Object.entries(pkg.exports)
    .filter((entry): entry is [string, ExportTarget] => typeof entry[1] === 'object')
    .map(([subpath, target]) => {
      const name = target.import.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '')
      return { subpath, specifier: `${pkg.name}${subpath.slice(1)}`, name, source: `src/${name}.ts`, target }
    })
}
