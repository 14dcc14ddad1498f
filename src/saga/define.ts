/**
 * The definition DSL. A definition is immutable: every `.step()` / `.parallel()` validates the new steps
 * against the rules (names, kinds, options) and returns a new definition, so an invalid saga fails where
 * it is written, not when it first runs.
 */
import { ValidationError } from '../core/errors.js'
import { expectDuration, expectOptions, optionKeys } from '../core/validate.js'
import { SagaDefinitionError } from './errors.js'
import type { PlannedStep } from './events.js'
import { type StepPolicies, validateStepPolicies } from './policies.js'
import type {
  CompensationContext,
  ParallelStepOptions,
  SagaDefinitionOptions,
  StepContext,
  StepKind,
  StepOptions,
} from './types.js'

// `.step(name, options)` also takes a parallel step's options (with their `name`), so a list of steps
// can be added one by one or as a group.
const STEP_OPTIONS = optionKeys<ParallelStepOptions<unknown, object, unknown>>({
  name: true,
  run: true,
  compensate: true,
  kind: true,
  retry: true,
  timeout: true,
  policy: true,
})

/** A validated step, as the orchestrator runs it. */
export interface DefinedStep extends PlannedStep {
  run: (context: StepContext<unknown, Record<string, unknown>>) => unknown
  compensate?: (context: CompensationContext<unknown, Record<string, unknown>, unknown>) => unknown
  /** The step's validated `retry`, `timeout` and `policy`. */
  policies: StepPolicies
}

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The outputs a parallel group adds, by step name. */
export type ParallelOutputs<Steps extends readonly unknown[]> = {
  -readonly [K in keyof Steps as K extends `${number}`
    ? Steps[K] extends { name: infer N extends string }
      ? N
      : never
    : never]: Awaited<Steps[K] extends { run: (...args: never[]) => infer R } ? R : never>
}

const KINDS: readonly StepKind[] = ['compensatable', 'pivot', 'retriable']

/**
 * A saga definition: its name, options and validated steps. Build one with {@link defineSaga}.
 * `Outputs` accumulates each step's output type, by step name.
 */
export class SagaDefinition<Input, Outputs extends object = {}> {
  /** Phantom field carrying the types, for `SagaInput<typeof def>`-style inference. */
  declare readonly types?: { input: Input; outputs: Outputs }
  readonly name: string
  /** Deadline in ms (from `options.deadline`), if any. */
  readonly deadline: number | undefined
  /** The steps in order; a parallel group's steps share a `group` index. */
  readonly steps: readonly DefinedStep[]

  /** @internal use {@link defineSaga} */
  constructor(name: string, deadline: number | undefined, steps: readonly DefinedStep[]) {
    this.name = name
    this.deadline = deadline
    this.steps = steps
  }

  /**
   * Adds a step. Its output is typed and available to later steps as `outputs[name]`.
   *
   * @example
   * ```ts
   * defineSaga<{ sku: string }>('order')
   *   .step('reserve', { run: ({ input }) => inventory.reserve(input.sku), compensate: ({ output }) => inventory.release(output) })
   * ```
   */
  step<Name extends string, Output>(
    name: Name,
    options: StepOptions<Input, Outputs, Output>,
  ): SagaDefinition<Input, Simplify<Outputs & { [K in Name]: Awaited<Output> }>> {
    const group = this.#nextGroup()
    const step = this.#validateStep(name, options as unknown as StepOptions<unknown, object, unknown>, group, false)
    return new SagaDefinition(this.name, this.deadline, [...this.steps, step])
  }

  /**
   * Adds a group of steps that run at once. A failure in the group compensates the group's executed
   * steps together, then the earlier steps in reverse order. A pivot cannot be part of a group.
   *
   * @example
   * ```ts
   * def.parallel([
   *   { name: 'reserve', run: reserve, compensate: release },
   *   { name: 'charge', run: charge, compensate: refund },
   * ])
   * ```
   */
  // biome-ignore lint/suspicious/noExplicitAny: each parallel step's output is inferred from its own `run`
  parallel<const Steps extends readonly ParallelStepOptions<Input, Outputs, any>[]>(
    steps: Steps,
  ): SagaDefinition<Input, Simplify<Outputs & ParallelOutputs<Steps>>> {
    if (!Array.isArray(steps) || steps.length === 0) {
      throw new SagaDefinitionError(this.name, 'parallel-empty', 'a parallel group needs at least one step')
    }
    const group = this.#nextGroup()
    const added: DefinedStep[] = []
    let definition: SagaDefinition<Input, Outputs> = this
    for (const options of steps) {
      const checked = expectOptions('parallel step', options as object, STEP_OPTIONS) as ParallelStepOptions<
        unknown,
        object,
        unknown
      >
      const step = definition.#validateStep(checked.name, checked, group, true)
      added.push(step)
      definition = new SagaDefinition(this.name, this.deadline, [...definition.steps, step])
    }
    return new SagaDefinition(this.name, this.deadline, [...this.steps, ...added])
  }

  #nextGroup(): number {
    const last = this.steps[this.steps.length - 1]
    return last === undefined ? 0 : last.group + 1
  }

  #validateStep(
    name: unknown,
    rawOptions: StepOptions<unknown, object, unknown>,
    group: number,
    inParallel: boolean,
  ): DefinedStep {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new SagaDefinitionError(
        this.name,
        'step-name',
        `a step name must be a non-empty string, got ${JSON.stringify(name)}`,
      )
    }
    const fail = (rule: string, message: string): never => {
      throw new SagaDefinitionError(this.name, rule, message, { step: name })
    }
    if (this.steps.some((s) => s.name === name)) fail('duplicate-step', 'a step with this name already exists')
    let options: StepOptions<unknown, object, unknown>
    let policies: StepPolicies
    try {
      options = expectOptions(`steps.${name}`, rawOptions, STEP_OPTIONS)
      if (typeof options.run !== 'function') throw new ValidationError(`steps.${name}.run`, 'a function', options.run)
      if (options.compensate !== undefined && typeof options.compensate !== 'function') {
        throw new ValidationError(`steps.${name}.compensate`, 'a function', options.compensate)
      }
      policies = validateStepPolicies(name, options)
    } catch (error) {
      return fail('step-options', (error as Error).message)
    }
    const kind = options.kind ?? 'compensatable'
    if (!KINDS.includes(kind))
      fail(
        'step-options',
        `Expected \`kind\` to be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(kind)}`,
      )
    const pivot = this.steps.find((s) => s.kind === 'pivot')
    if (kind === 'compensatable' && !options.compensate) {
      fail(
        'compensate-required',
        "a compensatable step (the default kind) needs `compensate`; mark it `kind: 'pivot'` or `'retriable'` if it cannot be undone",
      )
    }
    if (kind !== 'compensatable' && options.compensate)
      fail('compensate-not-allowed', `a ${kind} step is never compensated, so it cannot have \`compensate\``)
    if (pivot && kind !== 'retriable')
      fail('after-pivot', `steps after the pivot ${JSON.stringify(pivot.name)} must be retriable, this one is ${kind}`)
    if (!pivot && kind === 'retriable') fail('retriable-before-pivot', 'a retriable step must come after a pivot step')
    if (kind === 'pivot' && inParallel) fail('pivot-in-parallel', 'a pivot cannot be part of a parallel group')
    const step: DefinedStep = { name, kind, group, run: options.run as DefinedStep['run'], policies }
    if (options.compensate) step.compensate = options.compensate as DefinedStep['compensate']
    return step
  }
}

/**
 * Starts a saga definition. `Input` is the type of the input the saga is started with.
 *
 * @example
 * ```ts
 * const placeOrder = defineSaga<{ sku: string; qty: number; amount: number }>('place-order', { deadline: '30s' })
 *   .step('reserve', { run: ({ input, idempotencyKey }) => inventory.reserve(idempotencyKey, input.sku, input.qty), compensate: ({ idempotencyKey }) => inventory.release(idempotencyKey) })
 *   .step('charge', { run: ({ input, idempotencyKey }) => payments.charge(idempotencyKey, input.amount), compensate: ({ idempotencyKey }) => payments.refund(idempotencyKey), policy: paymentsBreaker })
 *   .step('ship', { kind: 'pivot', run: ({ idempotencyKey, outputs }) => shipping.ship(idempotencyKey, outputs.reserve) })
 *   .step('notify', { kind: 'retriable', run: ({ input }) => mailer.confirm(input) })
 * ```
 */
export function defineSaga<Input>(name: string, options?: SagaDefinitionOptions): SagaDefinition<Input, {}> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new SagaDefinitionError(
      String(name),
      'saga-name',
      `a saga name must be a non-empty string, got ${JSON.stringify(name)}`,
    )
  }
  let deadline: number | undefined
  try {
    const checked = expectOptions('options', options, optionKeys<SagaDefinitionOptions>({ deadline: true }))
    if (checked.deadline !== undefined) {
      deadline = expectDuration('deadline', checked.deadline, { positive: true })
    }
  } catch (error) {
    throw new SagaDefinitionError(name, 'saga-options', (error as Error).message)
  }
  return new SagaDefinition<Input, {}>(name, deadline, [])
}
