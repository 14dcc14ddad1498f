/**
 * A script as a user writes one: start a saga, await it, print the result, and let the process end by
 * itself. What keeps the process alive while the saga waits on one of its own timers is the subject of
 * keep-alive.unit.spec.ts. Usage: tsx keep-alive-child.ts <retriable | retry | timeout | deadline>
 */
import { memoryEventStore } from '../../src/eventstore/index.js'
import { createSagaOrchestrator, defineSaga, type SagaDefinition } from '../../src/saga/index.js'

const variant = process.argv[2]
const orchestrator = createSagaOrchestrator({
  store: memoryEventStore(),
  retriableRetry: { backoff: { initial: '100ms' } },
})
/** A call that waits on nothing that keeps a process alive: only the saga's timers can end it. */
const hangs = (signal: AbortSignal) => new Promise((_, reject) => signal.addEventListener('abort', reject))

const sagas = {
  // The saga's own backoff between runs of a retriable step.
  retriable: defineSaga('notify')
    .step('ship', { kind: 'pivot', run: () => 'shipped' })
    .step('mail', {
      kind: 'retriable',
      run: ({ attempt }) => {
        if (attempt === 1) throw new Error('mailer down')
        return `sent on call ${attempt}`
      },
    }),
  // The step's retry policy backoff.
  retry: defineSaga('charge').step('charge', {
    kind: 'pivot',
    retry: { attempts: 2, backoff: { initial: '100ms' } },
    run: ({ attempt }) => {
      if (attempt === 1) throw new Error('declined')
      return `paid on call ${attempt}`
    },
  }),
  // The step's timeout: the saga compensates, then aborts.
  timeout: defineSaga('reserve')
    .step('hold', { run: () => 'held', compensate: () => undefined })
    .step('reserve', { kind: 'pivot', timeout: '100ms', run: ({ signal }) => hangs(signal) }),
  // The saga's deadline while the caller awaits start().
  deadline: defineSaga('late', { deadline: '100ms' })
    .step('hold', { run: () => 'held', compensate: () => undefined })
    .step('reserve', { kind: 'pivot', run: ({ signal }) => hangs(signal) }),
}

const saga: SagaDefinition<unknown, object> | undefined = sagas[variant as keyof typeof sagas]
if (!saga) throw new Error(`unknown variant ${variant}`)
const state = await orchestrator.start(saga, null)
process.stdout.write(`${JSON.stringify({ status: state.status, outputs: state.outputs, failure: state.failure })}\n`)
