/**
 * A private redis-server for fault tests: started on a free port, and stopped, killed, restarted (on
 * the same port, so clients reconnect to it) or made to drop connections, without touching the
 * shared Redis other tests use.
 *
 * @example
 * ```ts
 * const server = await startRedisServer()
 * await server.clientKill('pubsub')
 * await server.kill()
 * await server.start()
 * await server.close()
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Whether the server process is running. */
  readonly running: boolean
  /** Starts the server (again) on the same port; resolves when it accepts connections. */
  start(): Promise<void>
  /** `SHUTDOWN NOSAVE`: a clean stop that closes every connection. */
  stop(): Promise<void>
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>
  /** SIGSTOP: the server hangs with its connections open, answering nothing (a stalled Redis). */
  freeze(): void
  /** SIGCONT: the frozen server answers again. */
  thaw(): void
  /** Kills and starts again on the same port. */
  restart(): Promise<void>
  /** `CLIENT KILL TYPE <type>`; resolves to the number of connections closed. */
  clientKill(type: 'pubsub' | 'normal'): Promise<number>
  /** Runs one command on a short-lived connection. */
  command(name: string, ...args: (string | number)[]): Promise<unknown>
  /** Kills the server for good. */
  close(): Promise<void>
}

const alive = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL')
})

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

/** Starts a redis-server with no persistence, on `port` or a free one. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  port ??= await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const spawnServer = async (): Promise<void> => {
    if (child) return
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    child = started
    alive.add(started)
    started.once('exit', () => {
      alive.delete(started)
      if (child === started) child = undefined
    })
    await new Promise<void>((resolve, reject) => {
      let output = ''
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          started.stdout?.off('data', onData)
          resolve()
        }
      }
      started.stdout?.on('data', onData)
      started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
    started.stdout?.resume()
    started.stderr?.resume()
  }

  const exited = async (process: ChildProcess | undefined): Promise<void> => {
    if (process && process.exitCode === null && process.signalCode === null) await once(process, 'exit')
  }

  const command = async (name: string, ...args: (string | number)[]): Promise<unknown> => {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null })
    try {
      return await client.call(name, ...args)
    } finally {
      client.disconnect()
    }
  }

  const kill = async (): Promise<void> => {
    const current = child
    current?.kill('SIGCONT')
    current?.kill('SIGKILL')
    await exited(current)
  }

  await spawnServer()
  return {
    port,
    url,
    get running() {
      return child !== undefined
    },
    start: spawnServer,
    async stop() {
      const current = child
      await command('SHUTDOWN', 'NOSAVE').catch(() => {})
      await exited(current)
    },
    kill,
    freeze() {
      child?.kill('SIGSTOP')
    },
    thaw() {
      child?.kill('SIGCONT')
    },
    async restart() {
      await kill()
      await spawnServer()
    },
    async clientKill(type) {
      return (await command('CLIENT', 'KILL', 'TYPE', type)) as number
    },
    command,
    close: kill,
  }
}

/** Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS or FLUSHDB): test and bench cleanup. */
export async function unlinkMatching(client: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000)
    if (keys.length > 0) await client.unlink(keys)
    cursor = next
  } while (cursor !== '0')
}
