import { Type } from 'typebox'
import { ProblemError } from './errors.js'
import type { App } from './service.js'

/** Injected latency and errors on a service's business routes (the tests and, later, the dashboard use it). */
export interface Faults {
  latencyMs: number
  errorRate: number
}

const admin = new Set(['/health', '/ready', '/metrics', '/breakers', '/faults'])

export function registerFaults(app: App, faults: Faults = { latencyMs: 0, errorRate: 0 }): Faults {
  app.addHook('onRequest', async (req) => {
    if (admin.has(req.url.split('?')[0] ?? '')) return
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs))
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
            latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
            errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => Object.assign(faults, req.body),
  )
  return faults
}
