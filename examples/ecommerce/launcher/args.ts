import { parseArgs } from 'node:util'
import { settings } from '../lib/config.js'
import type { ServiceName } from '../lib/runtime.js'

export interface LauncherArgs {
  portBase: number
  host: string
  reset: boolean
  /** Restart a process that exits on its own (off in the tests, which kill processes on purpose). */
  restart: boolean
  replicas: Record<ServiceName, number>
  dataDir: string | undefined
}

/** `--port-base N`, `--host H`, `--reset`, `--replicas inventory=2[,order=2]`, `--no-restart`, `--data-dir D`. */
export function parseLauncherArgs(argv: string[]): LauncherArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      'port-base': { type: 'string' },
      host: { type: 'string' },
      reset: { type: 'boolean', default: false },
      'no-restart': { type: 'boolean', default: false },
      replicas: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
    },
    strict: true,
  })
  const portBase = Number(values['port-base'] ?? settings.defaultPortBase)
  if (!Number.isInteger(portBase) || portBase < 1 || portBase > 65_000)
    throw new Error(`--port-base must be a port number, got ${values['port-base']}`)
  const replicas = Object.fromEntries(settings.services.map((s) => [s, 1])) as Record<ServiceName, number>
  for (const spec of (values.replicas ?? []).flatMap((v) => v.split(','))) {
    const [name, n] = spec.split('=')
    if (!settings.services.includes(name as ServiceName) || !Number.isInteger(Number(n)) || Number(n) < 1)
      throw new Error(`--replicas takes service=count (${settings.services.join(', ')}), got ${spec}`)
    replicas[name as ServiceName] = Number(n)
  }
  return {
    portBase,
    host: values.host ?? '127.0.0.1',
    reset: values.reset ?? false,
    restart: !values['no-restart'],
    replicas,
    dataDir: values['data-dir'],
  }
}
