import type { Duration } from 'bulwark'
import { type CircuitBreaker, isBrokenCircuitError } from 'bulwark/breaker'
import { type Cache, cached } from 'bulwark/cache'
import type pino from 'pino'
import type { DocTable } from '../../lib/doc-table.js'
import { notFound } from '../../lib/errors.js'

export interface Template {
  id: string
  channel: 'email' | 'sms'
  subject: string
  body: string
}

export interface Notification {
  key: string
  orderId: string
  template: string
  channel: 'email' | 'sms'
  to: string
  text: string
  status: 'sent' | 'queued'
  attempts: number
  createdAt: string
  sentAt?: string
}

/** The simulated email/SMS channels, with the errors and latency fault injection sets. */
export interface ChannelSettings {
  latencyMs: number
  errorRate: number
}

export const seedTemplates: Template[] = [
  {
    id: 'order-confirmation-email',
    channel: 'email',
    subject: 'Order {{orderId}} confirmed',
    body: 'Hello {{name}}, your order {{orderId}} ({{total}}) ships with tracking {{trackingNumber}}.',
  },
  {
    id: 'order-confirmation-sms',
    channel: 'sms',
    subject: '',
    body: 'Order {{orderId}} confirmed, tracking {{trackingNumber}}.',
  },
]

/**
 * Templates live in the database and in memory only (L1, 24 h), refreshed by hand. Sending goes through the
 * "notification delivery" breaker; a failed or refused send is queued in the outbox, and a worker delivers
 * the queue later ("queue for later").
 */
export function notifications(
  docs: DocTable,
  cache: Cache,
  ttl: Duration,
  breaker: CircuitBreaker,
  channel: ChannelSettings,
  log: pino.Logger,
) {
  class TemplateRepository {
    @cached({ cache, key: (id: string) => `template:${id}`, ttl, tags: ['templates'] })
    async find(id: string): Promise<Template | null> {
      return (await docs.get<Template>('templates', id)) ?? null
    }
  }
  const templates = new TemplateRepository()

  async function deliver(n: Notification): Promise<boolean> {
    try {
      await breaker.execute(async () => {
        if (channel.latencyMs > 0) await new Promise((r) => setTimeout(r, channel.latencyMs))
        if (channel.errorRate > 0 && Math.random() < channel.errorRate) throw new Error(`${n.channel} channel failed`)
      })
      return true
    } catch (error) {
      if (!isBrokenCircuitError(error)) log.warn({ err: error, key: n.key }, 'send failed; queued')
      return false
    }
  }

  async function attempt(n: Notification): Promise<Notification> {
    const sent = await deliver(n)
    const next: Notification = sent
      ? { ...n, status: 'sent', attempts: n.attempts + 1, sentAt: new Date().toISOString() }
      : { ...n, status: 'queued', attempts: n.attempts + 1 }
    await docs.put('outbox', n.key, next)
    await docs.put(`by-order:${n.orderId}`, n.key, next)
    return next
  }

  return {
    template: async (id: string) => {
      const t = await templates.find(id)
      if (t === null) throw notFound(`Template ${id}`)
      return t
    },
    async putTemplate(t: Template) {
      await docs.put('templates', t.id, t)
      await cache.delete(`template:${t.id}`)
      return t
    },
    refreshTemplates: () => cache.deleteByTag('templates'),
    /** Idempotent by key: the same key never sends twice. */
    async send(input: { key: string; orderId: string; template: string; to: string; vars: Record<string, string> }) {
      const existing = await docs.get<Notification>('outbox', input.key)
      if (existing) return existing
      const t = await templates.find(input.template)
      if (t === null) throw notFound(`Template ${input.template}`)
      const text = t.body.replace(/\{\{(\w+)\}\}/g, (_, v: string) => input.vars[v] ?? '')
      return attempt({
        key: input.key,
        orderId: input.orderId,
        template: t.id,
        channel: t.channel,
        to: input.to,
        text,
        status: 'queued',
        attempts: 0,
        createdAt: new Date().toISOString(),
      })
    },
    byOrder: (orderId: string) => docs.list<Notification>(`by-order:${orderId}`),
    /** One pass of the queue worker. */
    async drainQueue() {
      for (const n of await docs.list<Notification>('outbox')) if (n.status === 'queued') await attempt(n)
    },
  }
}
