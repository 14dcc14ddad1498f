/**
 * What the MongoDB server tests do to a server besides using the store: fail points, the replica set's
 * members, a direct connection to one member, open cursors, waiting for a primary. Fail points need a
 * server started with `--setParameter enableTestCommands=1` (test deployments have it).
 *
 * @example
 * ```ts
 * const failPoints = failCommand(client, appName) // only commands of clients named appName fail
 * await failPoints.set({ failCommands: ['commitTransaction'], closeConnection: true }, 1)
 * await failPoints.off()
 * ```
 */
import type { Document, MongoClient } from 'mongodb'
import { describe } from 'vitest'

/**
 * `describe` when the environment variable `variable` holds a server's URL (`MONGODB_URI_3`...);
 * otherwise `describe.skip`, and a loud line saying so.
 */
export function describeWithUrl(variable: string, name: string, body: (url: () => string) => void): void {
  const url = process.env[variable]
  if (url) {
    describe(name, () => body(() => url))
    return
  }
  console.warn(`!!! SKIPPED "${name}" (${variable} is not set)`)
  describe.skip(`${name} [SKIPPED: ${variable} not set]`, () => body(() => ''))
}

/** Checks `check` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * The `failCommand` fail point, limited to the clients whose `appName` is `appName`: other tests that
 * share the server (the conformance suite runs in parallel) are not touched.
 */
export function failCommand(client: MongoClient, appName: string) {
  const admin = client.db('admin')
  return {
    set: (data: Document, times: number) =>
      admin.command({ configureFailPoint: 'failCommand', mode: { times }, data: { ...data, appName } }),
    off: () => admin.command({ configureFailPoint: 'failCommand', mode: 'off' }),
  }
}

export interface ReplicaSetMembers {
  setName: string
  primary: string
  /** The data-bearing members other than the primary (arbiters are left out). */
  secondaries: string[]
}

/** The replica set as `hello` describes it. */
export async function replicaSetMembers(client: MongoClient): Promise<ReplicaSetMembers> {
  const hello = await client.db('admin').command({ hello: 1 })
  const dataBearing = [...((hello.hosts as string[]) ?? []), ...((hello.passives as string[]) ?? [])]
  return {
    setName: String(hello.setName),
    primary: String(hello.primary),
    secondaries: dataBearing.filter((host) => host !== hello.primary),
  }
}

/**
 * `url` with its host list replaced by `host` and `directConnection=true`: a client that talks to that
 * one member, as fail points on a secondary need. Credentials and other options are kept.
 * @throws Error for a `mongodb+srv://` URL, whose hosts come from DNS
 */
export function directUrl(url: string, host: string): string {
  const match = /^mongodb:\/\/([^@/]*@)?[^/?]*(\/[^?]*)?(?:\?(.*))?$/.exec(url)
  if (!match) throw new Error(`A direct connection to ${host} needs a mongodb:// URL (not mongodb+srv://), got ${url}`)
  const params = new URLSearchParams(match[3] ?? '')
  params.delete('replicaSet')
  params.set('directConnection', 'true')
  return `mongodb://${match[1] ?? ''}${host}${match[2] || '/'}?${params}`
}

/** Waits until the set has a writable primary again (after a step-down). */
export async function waitForPrimary(client: MongoClient, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const hello = await client
        .db('admin')
        .command({ hello: 1 })
        .catch(() => undefined)
      return hello?.isWritablePrimary === true
    },
    'a writable primary',
    timeoutMs,
  )
}

/** The replica set's current term: it grows with every election, a step-down's included. */
export async function replicaSetTerm(client: MongoClient): Promise<number> {
  const status = await client.db('admin').command({ replSetGetStatus: 1 })
  return Number(status.term)
}

/** The ids of the server's cursors on `namespace` (`db.collection`), idle or in a `getMore`. */
export async function cursorIds(client: MongoClient, namespace: string): Promise<unknown[]> {
  const ops = await client
    .db('admin')
    .aggregate(
      [
        { $currentOp: { idleCursors: true, allUsers: true } },
        { $match: { ns: namespace, 'cursor.cursorId': { $exists: true } } },
      ],
      { promoteLongs: false },
    ) // killCursors wants 64-bit ids, not the doubles small ones would become
    .toArray()
  const ids = new Map(ops.map((op) => [String(op.cursor.cursorId), op.cursor.cursorId as unknown]))
  return [...ids.values()]
}
