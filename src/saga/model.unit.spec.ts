/** Property test: random saga shapes and failures, checked against the rules every saga must keep. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { harness, settle } from '../../test/support/saga.js'
import { defineSaga, type SagaDefinition } from './define.js'
import { foldSaga } from './fold.js'

interface Shape {
  /** Sizes of the compensatable groups before the pivot. */
  groups: number[]
  withPivot: boolean
  retriables: number
  /** Index (in run order, over compensatable steps and the pivot) of the step that fails, if any. */
  failAt: number | null
  /** Failures of each compensation before it succeeds, by compensatable step index. */
  compensationFailures: number[]
  retriableFailures: number
}

const shapes = fc
  .record({
    groups: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
    withPivot: fc.boolean(),
    retriables: fc.integer({ min: 0, max: 2 }),
    failAt: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
    compensationFailures: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 12, maxLength: 12 }),
    retriableFailures: fc.integer({ min: 0, max: 2 }),
  })
  .map((s): Shape => ({ ...s, retriables: s.withPivot ? s.retriables : 0 }))

function build(shape: Shape, calls: string[]) {
  let saga: SagaDefinition<null, object> = defineSaga<null>('model')
  let index = 0
  const failures = new Map<string, number>()
  const fail = (name: string, times: number) => {
    const seen = (failures.get(name) ?? 0) + 1
    failures.set(name, seen)
    if (seen <= times) throw new Error(`${name} failed`)
  }
  const compensatable = (group: number, i: number) => {
    const me = index++
    const name = `s${me}`
    return {
      name,
      run: () => {
        calls.push(`run ${name}`)
        if (shape.failAt === me) throw new Error(`${name} refused`)
        return { group, i }
      },
      compensate: () => {
        calls.push(`undo ${name} g${group}`)
        fail(`undo ${name}`, shape.compensationFailures[me]!)
        calls.push(`undone ${name}`)
      },
    }
  }
  shape.groups.forEach((size, group) => {
    const steps = Array.from({ length: size }, (_, i) => compensatable(group, i))
    saga = size === 1 ? saga.step(steps[0]!.name, steps[0]!) : saga.parallel(steps)
  })
  if (shape.withPivot) {
    const me = index++
    saga = saga.step('pivot', {
      kind: 'pivot',
      run: () => {
        calls.push('run pivot')
        if (shape.failAt === me) throw new Error('pivot refused')
      },
    })
    for (let r = 0; r < shape.retriables; r++) {
      saga = saga.step(`r${r}`, {
        kind: 'retriable',
        run: () => {
          calls.push(`run r${r}`)
          fail(`r${r}`, shape.retriableFailures)
        },
      })
    }
  }
  return { saga, forwardSteps: index }
}

describe('saga model', () => {
  it('keeps the rules for any shape and failure pattern', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const { orchestrator, clock, store } = harness()
        const calls: string[] = []
        const { saga, forwardSteps } = build(shape, calls)
        const state = await settle(clock, orchestrator.start(saga, null, { sagaId: 'm' }), 500)

        // The result is the fold of the stream.
        expect(foldSaga(await store.readStream('saga-m'))).toEqual(state)
        const failed = shape.failAt !== null && shape.failAt < forwardSteps
        if (!failed) {
          expect(state.status).toBe('completed')
          expect(state.steps.every((s) => s.status === 'executed')).toBe(true)
          expect(calls.some((c) => c.startsWith('undo'))).toBe(false)
          return
        }
        // Retriable steps never ran: the failure came before or at the pivot.
        expect(calls.some((c) => /^run r\d/.test(c))).toBe(false)
        // Compensations go group by group, last group first.
        const groups = calls.filter((c) => c.startsWith('undo ')).map((c) => Number(c.split(' g')[1]))
        expect(groups).toEqual([...groups].sort((a, b) => b - a))
        const executed = state.steps.filter(
          (s) => s.kind === 'compensatable' && s.status !== 'pending' && s.status !== 'failed',
        )
        const stuck = executed.filter((s) => shape.compensationFailures[Number(s.name.slice(1))]! >= 3)
        if (stuck.length > 0) {
          expect(state.status).toBe('parked')
          expect(stuck.map((s) => s.name)).toContain(/"(s\d+)"/.exec(state.parkedReason ?? '')?.[1])
        } else {
          expect(state.status).toBe('aborted')
          for (const step of executed) {
            expect(step.status).toBe('compensated')
            expect(calls.filter((c) => c === `undone ${step.name}`)).toHaveLength(1)
          }
        }
      }),
      { numRuns: 150 },
    )
  })
})
