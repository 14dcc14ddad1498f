import { createHash } from 'node:crypto'
import type { Duration } from 'bulwark'
import type { SagaOrchestrator, SagaState } from 'bulwark/saga'
import { Type } from 'typebox'
import { HttpError, ProblemError } from '../../lib/errors.js'
import { Id, Items } from '../../lib/schemas.js'
import type { App } from '../../lib/service.js'
import type { Clients, PlaceOrderInput, placeOrderSaga } from './place-order.js'

const OrderBody = Type.Object({ customerId: Id, items: Items }, { additionalProperties: false })

/** The saga's state as the API shows it. */
export function present(s: SagaState) {
  const input = s.input as PlaceOrderInput
  return {
    sagaId: s.sagaId,
    orderId: input.orderId,
    status: s.status,
    total: input.total,
    failure: s.failure,
    parkedReason: s.parkedReason,
    outputs: s.outputs,
    steps: s.steps.map((step) => ({ name: step.name, status: step.status, attempts: step.attempts })),
  }
}

const finished = (s: SagaState) => s.status === 'completed' || s.status === 'aborted' || s.status === 'parked'
const sha = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * POST /orders: an Idempotency-Key is required; the saga id is derived from it, so the same key finds the
 * same saga (and a different body under that key is refused with 422). The answer is 201 with the final
 * state when the saga ends within `syncReplyWithin`, else 202 with Location: /sagas/:id.
 */
export function ordersApi(
  app: App,
  orchestrator: SagaOrchestrator,
  saga: ReturnType<typeof placeOrderSaga>,
  c: Clients,
  syncReplyWithin: number,
) {
  app.post(
    '/orders',
    {
      schema: {
        body: OrderBody,
        headers: Type.Object({ 'idempotency-key': Type.String({ minLength: 8, maxLength: 200 }) }),
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'] as string
      const sagaId = `ord-${sha(key).slice(0, 24)}`
      const bodyHash = sha(JSON.stringify(req.body))
      const respond = (s: SagaState) =>
        finished(s)
          ? reply.code(201).send(present(s))
          : reply.code(202).header('location', `/sagas/${s.sagaId}`).send(present(s))

      const existing = await orchestrator.get(sagaId)
      if (existing !== undefined) {
        if ((existing.input as PlaceOrderInput).bodyHash !== bodyHash)
          throw new ProblemError(422, 'idempotency-key-reused', 'This Idempotency-Key was used with a different body')
        return respond(existing)
      }

      const o = { requestId: req.id }
      const customer = await c.order
        .get<{ name: string; email: string }>(`/customers/${encodeURIComponent(req.body.customerId)}`, o)
        .catch(unknownAs422('unknown-customer', `Unknown customer ${req.body.customerId}`))
      const items = await Promise.all(
        req.body.items.map(async (item) => {
          const p = await c.inventory
            .get<{ price: number }>(`/products/${encodeURIComponent(item.sku)}`, o)
            .catch(unknownAs422('unknown-sku', `Unknown SKU ${item.sku}`))
          return { ...item, price: p.price }
        }),
      )
      const input: PlaceOrderInput = {
        orderId: sagaId,
        customerId: req.body.customerId,
        name: customer.name,
        email: customer.email,
        items,
        total: Math.round(items.reduce((n, i) => n + i.price * i.quantity, 0) * 100) / 100,
        bodyHash,
      }
      req.log.info({ sagaId }, 'place-order saga starting')
      const running = orchestrator.start(saga, input, { sagaId })
      running.catch((error) => req.log.error({ err: error, sagaId }, 'saga stopped'))
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<undefined>((r) => {
        timer = setTimeout(r, syncReplyWithin, undefined)
      })
      const state = await Promise.race([running, late])
      clearTimeout(timer)
      if (state !== undefined) return respond(state)
      return respond((await orchestrator.get(sagaId)) ?? ({ ...(await running) } as SagaState))
    },
  )

  const SagaParams = Type.Object({ id: Id })
  app.get('/sagas/:id', { schema: { params: SagaParams } }, async (req) => {
    const s = await orchestrator.get(req.params.id)
    if (s === undefined) throw new ProblemError(404, 'not-found', `Saga ${req.params.id} was not found`)
    return { ...present(s), timeline: s.timeline }
  })
  app.get(
    '/sagas',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Optional(
            Type.Union(['running', 'compensating', 'parked', 'completed', 'aborted'].map((v) => Type.Literal(v))),
          ),
          stalledFor: Type.Optional(Type.String({ pattern: '^\\d+(ms|s|m|h|d)$' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
    },
    async (req) =>
      (
        await orchestrator.list({
          status: req.query.status as SagaState['status'] | undefined,
          // The schema's pattern admits only durations ('10m').
          stalledFor: req.query.stalledFor as Duration | undefined,
          limit: req.query.limit ?? 100,
        })
      ).map(present),
  )
  app.post(
    '/sagas/:id/resolve',
    {
      schema: {
        params: SagaParams,
        body: Type.Object({ note: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
      },
    },
    async (req) => present(await orchestrator.resolve(req.params.id, req.body.note)),
  )
  app.post('/sagas/:id/resume', { schema: { params: SagaParams } }, async (req) =>
    present(await orchestrator.resume(req.params.id)),
  )
}

function unknownAs422(type: string, detail: string) {
  return (error: unknown): never => {
    if (error instanceof HttpError && error.status === 404) throw new ProblemError(422, type, detail)
    throw error
  }
}
