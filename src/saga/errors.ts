import { BulwarkError } from '../core/errors.js'

/**
 * Thrown by `defineSaga(...).step(...)` / `.parallel(...)` when a definition breaks a rule: an empty or
 * duplicate name, a compensatable step without `compensate`, a step after the pivot that is not
 * retriable, bad step options. `context.saga`, `context.step` and `context.rule` say which and why.
 *
 * @example
 * ```ts
 * try {
 *   defineSaga('order').step('charge', { run: charge }) // compensatable by default, but no compensate
 * } catch (e) {
 *   if (isBulwarkError(e, 'E_SAGA_DEFINITION')) console.log(e.context.rule) // 'compensate-required'
 * }
 * ```
 */
export class SagaDefinitionError extends BulwarkError {
  /**
   * @param saga the saga's name
   * @param rule which rule was broken (`'compensate-required'`, `'no-steps'`...): `context.rule`
   * @param message what is wrong, after "Saga <name>[, step <step>]: "
   */
  constructor(saga: string, rule: string, message: string, options: { step?: string } = {}) {
    const { step } = options
    const where =
      step === undefined ? `Saga ${JSON.stringify(saga)}` : `Saga ${JSON.stringify(saga)}, step ${JSON.stringify(step)}`
    super('E_SAGA_DEFINITION', `${where}: ${message}`, { context: { saga, step, rule } })
  }
}

/** Thrown when a saga id is not in the store, or its definition is not registered. */
export class SagaNotFoundError extends BulwarkError {
  /** `detail` says why, when the saga exists but cannot be driven (no definition registered under its name). */
  constructor(sagaId: string, options: { detail?: string } = {}) {
    const message = `No saga with id ${JSON.stringify(sagaId)}`
    const { detail } = options
    super('E_SAGA_NOT_FOUND', detail ? `${message}: ${detail}` : message, { context: { sagaId } })
  }
}

/** Thrown when an operation does not fit the saga's status (resolving a saga that is not parked...). */
export class SagaStateError extends BulwarkError {
  constructor(sagaId: string, status: string, message: string) {
    super('E_SAGA_STATE', `Saga ${JSON.stringify(sagaId)} is ${status}: ${message}`, { context: { sagaId, status } })
  }
}
