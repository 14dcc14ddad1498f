/**
 * The two majors of the MongoDB driver the store supports (`peerDependencies`: `>=6.8.0 <8.0.0`), side
 * by side: `mongodb` (7.x) and `mongodb6` (an npm alias of 6.8.x, a dev dependency, the oldest release
 * in the range).
 *
 * - Unit tests run against both: `describe.each(mongoDrivers)`.
 * - Integration tests run against the one `MONGODB_DRIVER` selects (`6` or `7`, default `7`):
 *   {@link selectMongoDriver}. With `6` it also makes `require('mongodb')` resolve to 6.8 in this
 *   process, so the store (which loads its peer with `require`) runs on the same driver as the test's
 *   clients, as in a project that installed 6.8.
 *
 * @example
 * ```ts
 * const driver = selectMongoDriver()
 * const client = driver.client(mongodbUrl())
 * const store = mongoEventStore({ client })
 * ```
 */
import Module, { createRequire } from 'node:module'
import type * as Mongo7 from 'mongodb'
import type * as Mongo6 from 'mongodb6'

const requireHere = createRequire(import.meta.url)

/** What the tests use of the driver's `BSON` (bson 7 with driver 7, bson 6 with driver 6.8), checked against both by tsc. */
export interface BsonUnderTest {
  serialize(doc: Record<string, unknown>): Uint8Array
  deserialize(bytes: Uint8Array): Record<string, unknown>
  calculateObjectSize(doc: Record<string, unknown>): number
  BSONError: new (message: string) => Error
  Long: { fromNumber(value: number): unknown }
}

export interface MongoDriverUnderTest {
  /** `'mongodb 6.8.2'`: what a test title shows. */
  readonly name: string
  readonly major: 6 | 7
  readonly version: string
  /** The package as `require` gives it. */
  readonly module: typeof Mongo7 | typeof Mongo6
  /** The driver's own BSON serializer, as it writes documents to the server and reads them back. */
  readonly bson: BsonUnderTest
  /** A file of this driver that its index does not export (`lib/cmap/errors.js`). */
  file(path: string): unknown
  /**
   * A client of this driver, typed as the store's options type it (the store's types come from 7.x;
   * a 6.8 client has every member the store calls).
   */
  client(url: string, options?: Mongo7.MongoClientOptions): Mongo7.MongoClient
}

function load(packageName: 'mongodb' | 'mongodb6'): MongoDriverUnderTest {
  const module = requireHere(packageName) as typeof Mongo7 | typeof Mongo6
  const { version } = requireHere(`${packageName}/package.json`) as { version: string }
  const major = Number(version.split('.')[0])
  if (major !== 6 && major !== 7) throw new Error(`${packageName} is ${version}, expected 6.x or 7.x`)
  return {
    name: `mongodb ${version}`,
    major,
    version,
    module,
    bson: module.BSON,
    file: (path) => requireHere(`${packageName}/${path}`),
    client: (url, options) => new module.MongoClient(url, options as never) as unknown as Mongo7.MongoClient,
  }
}

/** Both majors, newest first. */
export const mongoDrivers: readonly MongoDriverUnderTest[] = [load('mongodb'), load('mongodb6')]

const redirected = Symbol.for('bulwark.test.mongodbRedirectedTo')

/**
 * The driver `MONGODB_DRIVER` names (`6` or `7`, default `7`). For `6`, every later `require('mongodb')`
 * and `require('mongodb/...')` in this process resolves to `mongodb6`: the store's own driver (its
 * `BSON`, the client it creates from `url`, the version that decides its transaction backoff) is then
 * 6.8 too. Integration test files run in their own processes (the `int` project uses forks).
 * @throws Error when MONGODB_DRIVER is set to anything else
 */
export function selectMongoDriver(): MongoDriverUnderTest {
  const wanted = process.env.MONGODB_DRIVER ?? '7'
  if (wanted !== '6' && wanted !== '7') throw new Error(`MONGODB_DRIVER must be 6 or 7, got ${JSON.stringify(wanted)}`)
  const driver = mongoDrivers.find((d) => d.major === Number(wanted)) as MongoDriverUnderTest
  if (driver.major === 6) redirectMongodbTo('mongodb6')
  return driver
}

type ResolveFilename = (request: string, ...rest: unknown[]) => string

function redirectMongodbTo(packageName: string): void {
  const loader = Module as unknown as { _resolveFilename: ResolveFilename; [redirected]?: string }
  if (loader[redirected] === packageName) return
  if (loader[redirected] !== undefined) throw new Error(`require('mongodb') already goes to ${loader[redirected]}`)
  const resolve = loader._resolveFilename
  loader._resolveFilename = function (this: unknown, request, ...rest) {
    const target = request === 'mongodb' || request.startsWith('mongodb/') ? packageName + request.slice(7) : request
    return resolve.call(this, target, ...rest)
  }
  loader[redirected] = packageName
}
