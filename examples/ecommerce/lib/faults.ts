import { Type } from 'typebox'
import { ProblemError } from './errors.js'
import type { App } from './service.js'

/** Injected latency, errors and hangs on a service's business routes (the tests and the dashboard use it). */
export interface Faults {
  latencyMs: number
  errorRate: number
  /** How the added latency varies around `latencyMs`: fixed, uniform in [latencyMs, latencyMs + spread], normal (sd = spread), or latencyMs + exponential (mean = spread). */
  latencyDistribution?: 'fixed' | 'uniform' | 'normal' | 'exponential'
  latencySpreadMs?: number
  /** Requests wait (never answered) until the fault is cleared or the client gives up. */
  hang?: boolean
}

const admin = new Set(['/health', '/ready', '/metrics', '/breakers', '/caches', '/faults'])

/** The latency to add to one request. */
export function sampleLatency(f: Faults, random: () => number = Math.random): number {
  const spread = f.latencySpreadMs ?? 0
  switch (f.latencyDistribution ?? 'fixed') {
    case 'uniform':
      return f.latencyMs + random() * spread
    case 'normal': {
      // Box-Muller; a negative draw adds nothing.
      const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
      return Math.max(0, f.latencyMs + z * spread)
    }
    case 'exponential':
      return f.latencyMs - Math.log(1 - random()) * spread
    default:
      return f.latencyMs
  }
}

/**
 * The faults a process starts with: the launcher passes the ones in effect in `EXAMPLE_FAULTS`
 * (`{ "service": Faults, "gateway": { declineRate, errorRate, latencyMs } }`, fractions) whenever it starts a
 * service, so one restarted while a fault is active has it from its first request.
 */
export function startupFaults(env: NodeJS.ProcessEnv = process.env): {
  service: Partial<Faults>
  gateway: Partial<Record<'declineRate' | 'errorRate' | 'latencyMs', number>>
} {
  const raw = env.EXAMPLE_FAULTS
  if (raw === undefined || raw === '') return { service: {}, gateway: {} }
  const parsed = JSON.parse(raw) as { service?: Partial<Faults>; gateway?: Record<string, number> }
  return { service: parsed.service ?? {}, gateway: parsed.gateway ?? {} }
}

/** The added latency and error rate a fault can set: on a service, its payment gateway, its channel. */
export const injectedFaultFields = {
  latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
  errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
}

export function registerFaults(
  app: App,
  faults: Faults = { latencyMs: 0, errorRate: 0, ...startupFaults().service },
): Faults {
  app.addHook('onRequest', async (req) => {
    if (admin.has(req.url.split('?')[0] ?? '')) return
    while (faults.hang && !req.raw.destroyed) await new Promise((r) => setTimeout(r, 100))
    const delay = faults.latencyMs > 0 || (faults.latencySpreadMs ?? 0) > 0 ? sampleLatency(faults) : 0
    if (delay > 0) await new Promise((r) => setTimeout(r, delay))
    if (faults.errorRate > 0 && Math.random() < faults.errorRate)
      throw new ProblemError(500, 'injected-fault', 'Injected failure')
  })
  app.get('/faults', async () => faults)
  app.put(
    '/faults',
    {
      schema: {
        body: Type.Object(
          {
            ...injectedFaultFields,
            latencyDistribution: Type.Optional(
              Type.Union(['fixed', 'uniform', 'normal', 'exponential'].map((v) => Type.Literal(v))),
            ),
            latencySpreadMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
            hang: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => Object.assign(faults, req.body),
  )
  return faults
}
