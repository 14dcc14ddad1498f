import { type ChildProcess, spawn } from 'node:child_process'
import { timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type http from 'node:http'
import { basename, join, resolve } from 'node:path'
import type { ServiceName } from '../lib/runtime.js'
import { collector, type Snapshot } from './collector.js'
import {
  type FaultsRequest,
  noServiceFaults,
  toGatewaySettings,
  toServiceFaults,
  validateFaults,
} from './fault-schema.js'
import type { ServiceProcess } from './supervisor.js'

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>

const assets: Record<string, [string, string]> = {
  '/': ['dashboard/index.html', 'text/html; charset=utf-8'],
  '/assets/app.js': ['dashboard/app.js', 'text/javascript; charset=utf-8'],
  '/assets/app.css': ['dashboard/app.css', 'text/css; charset=utf-8'],
  // uPlot from the example's own node_modules: the page needs no network beyond the launcher.
  '/assets/uPlot.js': ['node_modules/uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/assets/uPlot.css': ['node_modules/uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
}

// The example's folder, whether this runs compiled (dist/launcher) or from source (the unit tests).
const exampleRoot = resolve(
  import.meta.dirname,
  basename(resolve(import.meta.dirname, '..')) === 'dist' ? '../..' : '..',
)

const loopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '::1'

/**
 * The launcher's dashboard side: the page and its assets, `GET /events` (SSE, one snapshot a second),
 * `GET|POST|DELETE /faults`, `/api/<service>/...` (the page's calls to a service: sagas, orders), and
 * `POST /load` (starts the load generator). Bound to anything but loopback, every request except the page
 * and its assets needs `Authorization: Bearer <token>` (or `?token=`), since these routes can stop services.
 */
export function controlApi(o: {
  processes: readonly ServiceProcess[]
  urls: Record<string, string>
  host: string
  /** The launcher's own base URL, for the load generator it starts. */
  self: string
  token: string | undefined
  redis: { cut(on: boolean): void; isCut(): boolean } | undefined
  gatewayDefaults: { latencyMs: number; errorRate: number }
}): { handle: Handler; close(): void } {
  const clients = new Set<http.ServerResponse>()
  const current: FaultsRequest & { services: NonNullable<FaultsRequest['services']> } = { services: {} }
  let load: { child: ChildProcess; startedAt: number; args: string[]; output: string } | undefined
  const feed = collector(o.processes, (snap: Snapshot) => {
    const line = `data: ${JSON.stringify({ ...snap, faults: current, load: loadState() })}\n\n`
    for (const c of clients) c.write(line)
  })
  const loadState = () =>
    load === undefined
      ? null
      : {
          running: load.child.exitCode === null,
          startedAt: load.startedAt,
          args: load.args,
          output: load.output.slice(-2000),
        }

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' })
    res.end(JSON.stringify(body))
  }
  const problem = (res: http.ServerResponse, status: number, type: string, detail: string, extra = {}) =>
    send(res, status, { type, title: status === 401 ? 'Unauthorized' : 'Bad Request', status, detail, ...extra })

  const authorized = (req: http.IncomingMessage, url: URL) => {
    if (o.token === undefined) return true
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? url.searchParams.get('token') ?? ''
    const a = Buffer.from(given)
    const b = Buffer.from(o.token)
    return a.length === b.length && timingSafeEqual(a, b)
  }

  const put = async (url: string, body: unknown) => {
    const res = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(3000),
    })
    if (!res.ok) throw new Error(`PUT ${url}: ${res.status}`)
  }
  const replicas = (name: string) => o.processes.filter((p) => p.name === name)

  /** The faults in effect for one process, as the service reads them at start (EXAMPLE_FAULTS). */
  const startupFaults = (p: ServiceProcess) =>
    JSON.stringify({
      service: toServiceFaults(current.services[p.name] ?? {}),
      ...(p.name === 'payment' && current.gateway !== undefined ? { gateway: toGatewaySettings(current.gateway) } : {}),
    })
  /** Sets a running process's faults (and the payment gateway) to exactly those in effect. */
  async function sync(p: ServiceProcess) {
    await put(`${p.url}/faults`, { ...noServiceFaults, ...toServiceFaults(current.services[p.name] ?? {}) })
    if (p.name === 'payment')
      await put(`${p.url}/gateway`, {
        ...o.gatewayDefaults,
        declineRate: 0,
        ...toGatewaySettings(current.gateway ?? {}),
      })
  }
  // A process (re)started while faults are active starts with them; if they changed while it was starting,
  // it is brought up to date before it is reported ready.
  const startedWith = new Map<ServiceProcess, string>()
  for (const p of o.processes)
    p.hooks = {
      env(p) {
        const faults = startupFaults(p)
        startedWith.set(p, faults)
        return { EXAMPLE_FAULTS: faults }
      },
      async ready(p) {
        if (startedWith.get(p) !== startupFaults(p)) await sync(p)
      },
    }

  async function apply(f: FaultsRequest) {
    for (const [name, sf] of Object.entries(f.services ?? {})) {
      if (sf === undefined) continue
      // Recorded first: a process (re)started below starts with them.
      const { process: action, ...kept } = sf
      current.services[name as ServiceName] = { ...current.services[name as ServiceName], ...kept }
      const body = toServiceFaults(kept)
      for (const p of replicas(name)) {
        if (action === 'kill') await p.stop('SIGKILL')
        else if (action === 'stop') await p.stop('SIGTERM')
        else if (action === 'restart') {
          await p.stop('SIGTERM')
          p.start()
        } else if (action === 'start') p.start()
        if (Object.keys(body).length > 0 && p.status === 'ready') await put(`${p.url}/faults`, body)
      }
    }
    if (f.gateway !== undefined) {
      current.gateway = { ...current.gateway, ...f.gateway }
      for (const p of replicas('payment'))
        if (p.status === 'ready') await put(`${p.url}/gateway`, toGatewaySettings(f.gateway))
    }
    if (f.redis !== undefined) {
      o.redis?.cut(f.redis.cut)
      current.redis = f.redis
    }
  }

  async function clear() {
    // Cleared first: a process started below, or still starting, comes up without them.
    current.services = {}
    delete current.gateway
    delete current.redis
    o.redis?.cut(false)
    for (const p of o.processes) {
      if (p.status === 'stopped' || p.status === 'exited') p.start()
      else if (p.status === 'ready') await sync(p).catch(() => {})
    }
  }

  const handle: Handler = async (req, res, url) => {
    const path = url.pathname
    const asset = req.method === 'GET' ? assets[path] : undefined
    if (asset !== undefined) {
      res.writeHead(200, { 'content-type': asset[1], 'cache-control': 'no-cache' })
      res.end(await readFile(join(exampleRoot, asset[0])))
      return true
    }
    const mine = path === '/events' || path === '/faults' || path === '/load' || path.startsWith('/api/')
    const control = path.startsWith('/processes/')
    if (!mine && !control) return false
    if (!authorized(req, url)) {
      problem(res, 401, 'unauthorized', 'The launcher is bound beyond loopback: send the token it printed at start')
      return true
    }
    if (control) return false // authorized; the launcher's own route handles it
    if (path === '/events' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write('retry: 1000\n\n')
      const last = feed.last()
      if (last) res.write(`data: ${JSON.stringify({ ...last, faults: current, load: loadState() })}\n\n`)
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return true
    }
    if (path === '/faults') {
      if (req.method === 'GET') send(res, 200, current)
      else if (req.method === 'DELETE') {
        await clear()
        send(res, 200, current)
      } else if (req.method === 'POST') {
        let body: unknown
        try {
          body = JSON.parse(await readBody(req))
        } catch {
          problem(res, 400, 'validation', 'The body is not JSON')
          return true
        }
        const v = validateFaults(body, { redis: o.redis !== undefined })
        if (!v.ok) {
          problem(res, 400, 'validation', v.errors.join('; '), { errors: v.errors })
          return true
        }
        try {
          await apply(v.value)
        } catch (error) {
          send(res, 502, {
            type: 'fault-not-applied',
            title: 'Bad Gateway',
            status: 502,
            detail: (error as Error).message,
          })
          return true
        }
        send(res, 200, current)
      } else return false
      return true
    }
    if (path === '/load') {
      if (req.method === 'GET') send(res, 200, loadState())
      else if (req.method === 'POST') {
        let q: { rate?: number; duration?: string; mix?: string }
        try {
          q = JSON.parse((await readBody(req)) || '{}')
        } catch {
          problem(res, 400, 'validation', 'The body is not JSON')
          return true
        }
        const rate = Number(q.rate ?? 20)
        const duration = String(q.duration ?? '30s')
        const mix = String(q.mix ?? 'place-order:80,browse:15,update-product:5')
        if (
          !Number.isInteger(rate) ||
          rate < 1 ||
          rate > 2000 ||
          !/^\d+(ms|s|m)$/.test(duration) ||
          !/^[a-z-]+:\d+(,[a-z-]+:\d+)*$/.test(mix)
        ) {
          problem(res, 400, 'validation', 'rate is 1..2000, duration like 30s, mix like place-order:80,browse:20')
          return true
        }
        if (load !== undefined && load.child.exitCode === null) load.child.kill('SIGINT')
        const args = ['--rate', String(rate), '--duration', duration, '--mix', mix, '--launcher', o.self, '--quiet']
        const child = spawn(process.execPath, [join(exampleRoot, 'dist/scripts/load/main.js'), ...args], {
          env: { ...process.env, SERVICE_URLS: JSON.stringify(o.urls) },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        load = { child, startedAt: Date.now(), args, output: '' }
        const current = load
        const keep = (d: Buffer) => (current.output = (current.output + d.toString()).slice(-4000))
        child.stdout?.on('data', keep)
        child.stderr?.on('data', keep)
        send(res, 202, loadState())
      } else return false
      return true
    }
    // /api/<service>/<path>: the page's calls to a service (saga details, resolve/resume, orders).
    const m = /^\/api\/([a-z]+)(\/.*)$/.exec(path)
    const target = m && o.urls[m[1]!]
    if (!m || !target) return false
    // No body, none forwarded: fetch would send '' as text/plain, which the services refuse (415); the page's
    // Resume button posts nothing.
    const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req)
    const upstream = await fetch(`${target}${m[2]}${url.search}`, {
      method: req.method,
      headers: Object.fromEntries(
        ['content-type', 'idempotency-key'].flatMap((h) => (req.headers[h] ? [[h, String(req.headers[h])]] : [])),
      ),
      ...(body === '' ? {} : { body }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined)
    if (upstream === undefined) {
      send(res, 502, {
        type: 'service-unreachable',
        title: 'Bad Gateway',
        status: 502,
        detail: `${m[1]} did not answer`,
      })
      return true
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
    res.end(Buffer.from(await upstream.arrayBuffer()))
    return true
  }
  return {
    handle,
    close() {
      feed.stop()
      for (const c of clients) c.end()
      if (load?.child.exitCode === null) load.child.kill('SIGINT')
    },
  }
}

async function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export const isLoopback = loopback
