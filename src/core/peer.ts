/**
 * Loads an optional peer dependency (a database driver, prom-client) when an adapter first needs it,
 * so that importing an adapter's subpath never fails, and a missing driver is reported as a
 * `BulwarkError` (`E_MISSING_PEER`) that says what to install, instead of Node's raw
 * `Cannot find module` thrown at import time.
 *
 * The version ranges come from package.json's `peerDependencies` (inlined by the build), so the
 * message and the manifest cannot disagree.
 */
import { createRequire } from 'node:module'
import { peerDependencies } from '../../package.json'
import { BulwarkError } from './errors.js'

/** The optional peer dependencies an adapter may load. */
export type PeerName = keyof typeof peerDependencies

const loaded = new Map<PeerName, unknown>()
let requireFromHere: NodeRequire | undefined

/**
 * The module `name`, loaded once (CommonJS `require`, which every supported driver answers).
 * `feature` is what needs it, as the user imported it (`'bulwark/eventstore/postgres'`).
 * @throws BulwarkError `E_MISSING_PEER` when it is not installed or cannot be loaded
 */
export function loadPeer<T>(name: PeerName, feature: string): T {
  if (loaded.has(name)) return loaded.get(name) as T
  const range = peerDependencies[name]
  const install = `npm install "${name}@${range}"`
  let module: unknown
  try {
    requireFromHere ??= createRequire(import.meta.url)
    module = requireFromHere(name)
  } catch (cause) {
    const notInstalled =
      (cause as { code?: unknown })?.code === 'MODULE_NOT_FOUND' &&
      String((cause as Error).message).includes(`'${name}'`)
    const problem = notInstalled
      ? `needs the optional peer dependency \`${name}\` (${range}), which is not installed`
      : `could not load its peer dependency \`${name}\` (${range}): ${(cause as Error)?.message ?? String(cause)}`
    throw new BulwarkError('E_MISSING_PEER', `\`${feature}\` ${problem}. Install it: ${install}`, {
      cause,
      context: { peer: name, range, feature, install },
    })
  }
  loaded.set(name, module)
  return module as T
}

/** The installed version of peer `name` (from its package.json), or `undefined` when it cannot be read. */
export function peerVersion(name: PeerName): string | undefined {
  try {
    requireFromHere ??= createRequire(import.meta.url)
    return (requireFromHere(`${name}/package.json`) as { version?: string }).version
  } catch {
    return undefined
  }
}
