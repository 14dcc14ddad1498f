// Starting the shop from a script (the demos, the benchmark): the real launcher as a child process.
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'

const example = resolve(import.meta.dirname, '../..')

export interface Shop {
  /** The launcher's base URL (status, /events, the fault API). */
  url: string
  child: ChildProcess
  /** SIGTERM: the launcher stops every service gracefully; resolves once it has exited. */
  stop(): Promise<void>
}

/** Whether a launcher answers `GET /status` at `url`. */
export const shopAnswers = (url: string) =>
  fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  )

/**
 * Starts the launcher on `portBase` (its services on the next six ports) over `dataDir`, and resolves once every
 * service answers `/ready`. Rejects, with the launcher's output, when it exits first or is not ready in time.
 */
export async function startShop(o: {
  portBase: number
  dataDir: string
  env?: NodeJS.ProcessEnv
  /** Restart a process that dies (the launcher's default); false passes --no-restart. */
  restart?: boolean
  timeoutMs?: number
}): Promise<Shop> {
  const url = `http://127.0.0.1:${o.portBase}`
  const child = spawn(
    process.execPath,
    [
      resolve(example, 'dist/launcher/main.js'),
      '--port-base',
      String(o.portBase),
      '--data-dir',
      o.dataDir,
      ...(o.restart === false ? ['--no-restart'] : []),
    ],
    { env: { ...process.env, LOG_LEVEL: 'warn', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  const until = Date.now() + (o.timeoutMs ?? 300_000)
  while (child.exitCode === null && child.signalCode === null) {
    const s = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.json() as Promise<{ services: { status: string }[] }>)
      .catch(() => undefined)
    if (s !== undefined && s.services.length > 0 && s.services.every((p) => p.status === 'ready'))
      return { url, child, stop }
    if (Date.now() > until) {
      await stop()
      throw new Error(`the shop on ${url} was not ready in ${o.timeoutMs ?? 300_000} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`the shop's launcher exited before it was ready (port ${o.portBase} in use?):\n${output}`)
}
