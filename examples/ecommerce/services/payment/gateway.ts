import { randomUUID } from 'node:crypto'
import { ProblemError } from '../../lib/errors.js'

/** The simulated external payment gateway, with the latency, errors and declines fault injection sets. */
export interface GatewaySettings {
  latencyMs: number
  errorRate: number
  /** Fraction of authorizations declined ("card declined"). */
  declineRate: number
}

export class GatewayError extends Error {
  override name = 'GatewayError'
}

export class CardDeclined extends ProblemError {
  constructor(reason: string) {
    super(402, 'payment-declined', reason)
  }
}

export function simulatedGateway(settings: GatewaySettings) {
  async function call<T>(op: string, result: () => T): Promise<T> {
    if (settings.latencyMs > 0) await new Promise((r) => setTimeout(r, settings.latencyMs))
    if (settings.errorRate > 0 && Math.random() < settings.errorRate) throw new GatewayError(`Gateway ${op} failed`)
    return result()
  }
  return {
    settings,
    authorize: (amount: number) =>
      call('authorize', () => {
        if (settings.declineRate > 0 && Math.random() < settings.declineRate) return { declined: 'Card declined' }
        if (amount > 50_000) return { declined: 'Amount over the card limit' }
        return { paymentId: `pay_${randomUUID().slice(0, 12)}` }
      }),
    capture: (paymentId: string) => call('capture', () => ({ paymentId })),
    void: (paymentId: string) => call('void', () => ({ paymentId })),
    refund: (paymentId: string) => call('refund', () => ({ paymentId })),
  }
}
