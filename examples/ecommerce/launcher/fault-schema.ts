import { type Static, Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { settings } from '../lib/config.js'
import type { Faults } from '../lib/faults.js'

const Percent = Type.Number({ minimum: 0, maximum: 100 })
const Ms = Type.Integer({ minimum: 0, maximum: 60_000 })
const closed = { additionalProperties: false } as const

/** Added latency: a fixed delay, or a distribution around a base (uniform [base, base + spread], normal sd = spread, exponential mean = spread). */
const Latency = Type.Union([
  Type.Object({ fixedMs: Ms }, closed),
  Type.Object(
    {
      distribution: Type.Union([Type.Literal('uniform'), Type.Literal('normal'), Type.Literal('exponential')]),
      baseMs: Type.Optional(Ms),
      spreadMs: Ms,
    },
    closed,
  ),
])

const ServiceFault = Type.Object(
  {
    /** Percent of business requests answered 500. */
    errorRate: Type.Optional(Percent),
    latency: Type.Optional(Latency),
    /** Requests are held, never answered, until cleared. */
    hang: Type.Optional(Type.Boolean()),
    /** kill = SIGKILL (the launcher restarts it after 1 s unless --no-restart), stop = SIGTERM and stay down, start, restart. */
    process: Type.Optional(
      Type.Union([Type.Literal('kill'), Type.Literal('stop'), Type.Literal('start'), Type.Literal('restart')]),
    ),
  },
  closed,
)

/** Body of `POST /faults`: what to change; what is not named stays as it is. */
export const FaultsBody = Type.Object(
  {
    services: Type.Optional(
      Type.Object(Object.fromEntries(settings.services.map((s) => [s, Type.Optional(ServiceFault)])), closed),
    ),
    /** The simulated payment gateway behind the payment service. */
    gateway: Type.Optional(
      Type.Object(
        { declineRate: Type.Optional(Percent), errorRate: Type.Optional(Percent), latencyMs: Type.Optional(Ms) },
        closed,
      ),
    ),
    /** Cut every service's Redis connection (only when the shop runs with REDIS_URL). */
    redis: Type.Optional(Type.Object({ cut: Type.Boolean() }, closed)),
  },
  closed,
)

export type FaultsRequest = Static<typeof FaultsBody>
export type ServiceFaultRequest = Static<typeof ServiceFault>

const check = Compile(FaultsBody)

export type Validated = { ok: true; value: FaultsRequest } | { ok: false; errors: string[] }

/** Schema and context checks of a `POST /faults` body; nothing is applied here. */
export function validateFaults(body: unknown, ctx: { redis: boolean }): Validated {
  if (!check.Check(body)) {
    const errors = [...check.Errors(body)]
      .filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf')
      .map((e) => `${e.instancePath || '/'} ${e.message}`)
    return { ok: false, errors: errors.length > 0 ? errors : ['body does not match the faults schema'] }
  }
  if (body.redis !== undefined && !ctx.redis)
    return { ok: false, errors: ['/redis: the shop runs without Redis (start it with REDIS_URL)'] }
  return { ok: true, value: body }
}

/** A service's `PUT /faults` body for the dashboard's service fault (percent to fraction, latency flattened). */
export function toServiceFaults(f: ServiceFaultRequest): Partial<Faults> {
  const out: Partial<Faults> = {}
  if (f.errorRate !== undefined) out.errorRate = f.errorRate / 100
  if (f.hang !== undefined) out.hang = f.hang
  if (f.latency !== undefined) {
    if ('fixedMs' in f.latency)
      Object.assign(out, { latencyMs: f.latency.fixedMs, latencyDistribution: 'fixed', latencySpreadMs: 0 })
    else
      Object.assign(out, {
        latencyMs: f.latency.baseMs ?? 0,
        latencyDistribution: f.latency.distribution,
        latencySpreadMs: f.latency.spreadMs,
      })
  }
  return out
}

/** The payment service's `PUT /gateway` body for the dashboard's gateway fault (percent to fraction). */
export function toGatewaySettings(g: NonNullable<FaultsRequest['gateway']>): {
  declineRate?: number
  errorRate?: number
  latencyMs?: number
} {
  return {
    ...(g.declineRate === undefined ? {} : { declineRate: g.declineRate / 100 }),
    ...(g.errorRate === undefined ? {} : { errorRate: g.errorRate / 100 }),
    ...(g.latencyMs === undefined ? {} : { latencyMs: g.latencyMs }),
  }
}

/** What clears a service's injected faults. */
export const noServiceFaults: Faults = {
  latencyMs: 0,
  errorRate: 0,
  latencyDistribution: 'fixed',
  latencySpreadMs: 0,
  hang: false,
}
