/**
 * Emmett's read of the global log, for the "read all" figure: `readMessagesBatch` (what Emmett's own
 * processors page with), `after` a position, a page of `size` messages.
 */
import type { AppenderTarget } from './eventstore-appenders.js'
import { withSearchPath } from './eventstore-appenders.js'

export interface EmmettReader {
  readAll(after: number, size: number): Promise<unknown[]>
  close(): Promise<void>
}

export async function emmettReader(kind: 'emmett-pg' | 'emmett-sqlite', target: AppenderTarget): Promise<EmmettReader> {
  if (kind === 'emmett-pg') {
    const { readMessagesBatch } = await import('@event-driven-io/emmett-postgresql')
    const { dumbo } = await import('@event-driven-io/dumbo')
    const pool = dumbo({ connectionString: withSearchPath(target.databaseUrl, target.schema) })
    return {
      readAll: async (after, size) =>
        (await readMessagesBatch(pool.execute, { after: BigInt(after), batchSize: size })).messages,
      close: () => pool.close(),
    }
  }
  // Optional: not a dev dependency (see eventstore.bench.ts), so imported by a name TypeScript does not resolve.
  const name = '@event-driven-io/emmett-sqlite'
  const { readMessagesBatch, sqliteConnection } = (await import(name)) as {
    sqliteConnection(options: { fileName: string }): { close(): void }
    readMessagesBatch(
      connection: { close(): void },
      options: { after: bigint; batchSize: number },
    ): Promise<{ messages: unknown[] }>
  }
  const connection = sqliteConnection({ fileName: target.file })
  return {
    readAll: async (after, size) =>
      (await readMessagesBatch(connection, { after: BigInt(after), batchSize: size })).messages,
    close: async () => connection.close(),
  }
}
