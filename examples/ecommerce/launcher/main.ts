import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import http from 'node:http'
import { join, resolve } from 'node:path'
import { loadConfig, settings } from '../lib/config.js'
import { exampleRoot, type ServiceName } from '../lib/runtime.js'
import { parseLauncherArgs } from './args.js'
import { controlApi, isLoopback } from './control-api.js'
import { roundRobinProxy } from './proxy.js'
import { redisRelay } from './redis-cut.js'
import { ServiceProcess } from './supervisor.js'

const args = parseLauncherArgs(process.argv.slice(2))
const dataDir = resolve(args.dataDir ?? process.env.DATA_DIR ?? join(exampleRoot, '.data'))
const started = performance.now()
if (args.reset) {
  rmSync(dataDir, { recursive: true, force: true })
  if (process.env.DATABASE_URL) await resetPostgres(process.env.DATABASE_URL, process.env.STACK_PREFIX ?? 'shop')
}

const servicePort = (s: ServiceName) => args.portBase + settings.portOffset[s]
const urls = Object.fromEntries(settings.services.map((s) => [s, `http://127.0.0.1:${servicePort(s)}`]))
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  HOST: args.host,
  SERVICE_URLS: JSON.stringify(urls),
}
// Services reach Redis through the launcher's relay, so fault injection can cut every connection at once.
const relay = process.env.REDIS_URL ? await redisRelay(process.env.REDIS_URL) : undefined
if (relay) env.REDIS_URL = relay.url

// A service with replicas: its processes listen on ports of their own, the launcher's proxy on the service's port.
const processes: ServiceProcess[] = []
const proxies: http.Server[] = []
for (const name of settings.services) {
  const n = args.replicas[name]
  for (let r = 0; r < n; r++) {
    const port = n === 1 ? servicePort(name) : args.portBase + 100 + settings.portOffset[name] * 10 + r
    processes.push(
      new ServiceProcess({
        name,
        replica: r,
        port,
        host: args.host,
        env,
        logDir: join(dataDir, 'logs'),
        restart: args.restart,
      }),
    )
  }
  if (n > 1) {
    const mine = processes.filter((p) => p.name === name)
    const proxy = roundRobinProxy(() => mine.filter((p) => p.status === 'ready').map((p) => p.port), '127.0.0.1')
    proxy.listen(servicePort(name), args.host)
    proxies.push(proxy)
  }
}
for (const p of processes) p.start()

// The launcher's own port: a status JSON and process control (the dashboard comes in a later issue).
// The dashboard, /events and the fault API; beyond loopback they need this token.
const token = isLoopback(args.host) ? undefined : randomBytes(18).toString('base64url')
const control = controlApi({
  processes,
  urls,
  host: args.host,
  self: `http://127.0.0.1:${args.portBase}`,
  token,
  redis: relay,
  // The gateway as the payment service starts it (EXAMPLE_CONFIG included): what clearing a fault restores.
  gatewayDefaults: loadConfig().settings.gateway,
})
const find = (name: string, replica: number) => processes.find((p) => p.name === name && p.replica === replica)
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://launcher')
  if (await control.handle(req, res, url)) return
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' })
    res.end(JSON.stringify(body))
  }
  if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/status'))
    return json(200, {
      mode: process.env.DATABASE_URL ? 'postgresql' : process.env.MONGODB_URI ? 'mongodb' : 'embedded',
      redis: Boolean(process.env.REDIS_URL),
      // What the services connect to: the launcher's relay in front of REDIS_URL (the Redis cut fault).
      redisRelay: relay?.url ?? null,
      dataDir,
      services: processes.map((p) => p.describe()),
    })
  const m = /^\/processes\/([a-z]+)(?:\/(\d+))?\/(start|stop|kill)$/.exec(url.pathname)
  if (req.method === 'POST' && m) {
    const p = find(m[1]!, Number(m[2] ?? 0))
    if (!p) return json(404, { type: 'not-found', title: 'Not Found', status: 404, detail: `No process ${m[1]}` })
    if (m[3] === 'start') p.start()
    else await p.stop(m[3] === 'kill' ? 'SIGKILL' : 'SIGTERM')
    return json(200, p.describe())
  }
  json(404, { type: 'not-found', title: 'Not Found', status: 404, detail: `No route ${req.method} ${url.pathname}` })
})
server.listen(args.portBase, args.host)

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  console.log('stopping...')
  control.close()
  await Promise.all(processes.map((p) => p.stop('SIGTERM')))
  relay?.close()
  for (const s of [server, ...proxies]) s.close()
  console.log('stopped')
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)

while (processes.some((p) => p.status !== 'ready')) await new Promise((r) => setTimeout(r, 50))
const ms = Math.round(performance.now() - started)
console.log(
  `Bulwark example shop ready in ${ms} ms (${env.DATABASE_URL ? 'PostgreSQL' : 'embedded SQLite'}${env.REDIS_URL ? ' + Redis' : ''}):`,
)
console.log(`  dashboard     http://127.0.0.1:${args.portBase}/${token ? `?token=${token}` : ''}`)
console.log(`  launcher      http://127.0.0.1:${args.portBase}/status`)
if (token) console.log(`fault API token (bound to ${args.host}): ${token}`)
for (const name of settings.services) console.log(`  ${name.padEnd(13)} ${urls[name]}`)
console.log(`data: ${dataDir} (logs in ${join(dataDir, 'logs')}); Ctrl-C stops everything`)

async function resetPostgres(url: string, prefix: string) {
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  for (const s of settings.services) await client.query(`DROP SCHEMA IF EXISTS "${prefix}_${s}" CASCADE`)
  await client.end()
}
