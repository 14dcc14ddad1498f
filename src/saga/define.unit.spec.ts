import { describe, expect, expectTypeOf, it } from 'vitest'
import { isBulwarkError } from '../core/errors.js'
import { defineSaga, SagaDefinition } from './define.js'

const noop = () => undefined

function ruleOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    expect(isBulwarkError(error, 'E_SAGA_DEFINITION')).toBe(true)
    return (error as { context: { rule: string } }).context.rule
  }
  throw new Error('expected a definition error')
}

describe('defineSaga: types', () => {
  it('accumulates each step output, typed, for later steps and compensations', () => {
    const saga = defineSaga<{ qty: number }>('typed')
      .step('reserve', {
        run: async ({ input }) => ({ reservation: `r-${input.qty}` }),
        compensate: ({ output }) => {
          expectTypeOf(output).toEqualTypeOf<{ reservation: string } | undefined>()
        },
      })
      .parallel([
        { name: 'charge', run: ({ outputs }) => outputs.reserve.reservation.length, compensate: noop },
        { name: 'label', run: () => 'label-1', compensate: noop },
      ])
      .step('ship', {
        kind: 'pivot',
        run: ({ outputs, idempotencyKey, attempt, signal }) => {
          expectTypeOf(outputs.charge).toEqualTypeOf<number>()
          expectTypeOf(outputs.label).toEqualTypeOf<string>()
          expectTypeOf(idempotencyKey).toEqualTypeOf<string>()
          expectTypeOf(attempt).toEqualTypeOf<number>()
          expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
          return { tracking: 'T1' }
        },
      })
    type Outputs = NonNullable<typeof saga.types>['outputs']
    expectTypeOf<Outputs>().toEqualTypeOf<{
      reserve: { reservation: string }
      charge: number
      label: string
      ship: { tracking: string }
    }>()
    expect(saga.steps.map((s) => [s.name, s.kind, s.group])).toEqual([
      ['reserve', 'compensatable', 0],
      ['charge', 'compensatable', 1],
      ['label', 'compensatable', 1],
      ['ship', 'pivot', 2],
    ])
  })

  it('keeps its internals in #private fields: only name, deadline, steps, step() and parallel() are reachable', () => {
    const saga = defineSaga('visible', { deadline: '1s' }).step('pay', { kind: 'pivot', run: noop })
    expect(Object.keys(saga).sort()).toEqual(['deadline', 'name', 'steps'])
    expect(Object.getOwnPropertyNames(SagaDefinition.prototype).sort()).toEqual(['constructor', 'parallel', 'step'])
  })

  it('is immutable: adding a step returns a new definition', () => {
    const base = defineSaga('base').step('a', { run: noop, compensate: noop })
    const longer = base.step('b', { run: noop, compensate: noop })
    expect(base.steps.map((s) => s.name)).toEqual(['a'])
    expect(longer.steps.map((s) => s.name)).toEqual(['a', 'b'])
  })
})

describe('defineSaga: rules enforced when the saga is defined', () => {
  const s = () => defineSaga('order')

  it('rejects empty and duplicate names', () => {
    expect(ruleOf(() => defineSaga(''))).toBe('saga-name')
    expect(ruleOf(() => s().step('', { run: noop, compensate: noop }))).toBe('step-name')
    expect(ruleOf(() => s().step('  ', { run: noop, compensate: noop }))).toBe('step-name')
    expect(
      ruleOf(() => s().step('a', { run: noop, compensate: noop }).step('a', { run: noop, compensate: noop })),
    ).toBe('duplicate-step')
    expect(
      ruleOf(() =>
        s().parallel([
          { name: 'a', run: noop, compensate: noop },
          { name: 'a', run: noop, compensate: noop },
        ]),
      ),
    ).toBe('duplicate-step')
  })

  it('requires a compensation on compensatable steps (the default kind)', () => {
    expect(ruleOf(() => s().step('charge', { run: noop }))).toBe('compensate-required')
    expect(ruleOf(() => s().step('charge', { kind: 'compensatable', run: noop }))).toBe('compensate-required')
  })

  it('allows only retriable steps after the pivot, and retriable steps only after one', () => {
    const pivoted = s().step('ship', { kind: 'pivot', run: noop })
    expect(ruleOf(() => pivoted.step('charge', { run: noop, compensate: noop }))).toBe('after-pivot')
    expect(ruleOf(() => pivoted.step('again', { kind: 'pivot', run: noop }))).toBe('after-pivot')
    expect(ruleOf(() => s().step('notify', { kind: 'retriable', run: noop }))).toBe('retriable-before-pivot')
    expect(pivoted.step('notify', { kind: 'retriable', run: noop }).steps).toHaveLength(2)
  })

  it('refuses compensations on pivot and retriable steps, and pivots in parallel groups', () => {
    expect(ruleOf(() => s().step('ship', { kind: 'pivot', run: noop, compensate: noop }))).toBe(
      'compensate-not-allowed',
    )
    expect(ruleOf(() => s().parallel([{ name: 'ship', kind: 'pivot', run: noop }]))).toBe('pivot-in-parallel')
    expect(ruleOf(() => s().parallel([]))).toBe('parallel-empty')
  })

  it('rejects bad step options, naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ run: 'x', compensate: noop }, /steps\.a\.run/],
      [{ run: noop, compensate: 3 }, /steps\.a\.compensate/],
      [{ run: noop, compensate: noop, kind: 'sometimes' }, /`kind`/],
      [{ run: noop, compensate: noop, timeout: 'soon' }, /steps\.a\.timeout/],
      [{ run: noop, compensate: noop, timeout: 0 }, /steps\.a\.timeout/],
      [{ run: noop, compensate: noop, retry: 0 }, /attempts/],
      [{ run: noop, compensate: noop, retry: { attempts: 2, backoff: { initial: 'x' } } }, /backoff\.initial/],
      [{ run: noop, compensate: noop, policy: {} }, /steps\.a\.policy/],
      [null, /steps\.a/],
    ]
    for (const [options, message] of bad) {
      expect(() => s().step('a', options as never), JSON.stringify(options)).toThrowError(message)
      expect(ruleOf(() => s().step('a', options as never))).toBe('step-options')
    }
  })

  it('rejects a bad deadline', () => {
    expect(ruleOf(() => defineSaga('x', { deadline: 'later' as never }))).toBe('saga-options')
    expect(ruleOf(() => defineSaga('x', { deadline: 0 }))).toBe('saga-options')
    expect(defineSaga('x', { deadline: '30s' }).deadline).toBe(30_000)
  })
})
