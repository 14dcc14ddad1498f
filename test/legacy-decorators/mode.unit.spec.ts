/**
 * Files in this folder compile with `experimentalDecorators` (as NestJS projects do), through the
 * tsconfig.json beside them. This test proves the mode is really on here, so the decorator tests of
 * each module in this folder exercise the legacy calling convention, not the standard one.
 */
import { expect, it } from 'vitest'

const seen: unknown[][] = []
function record(...args: unknown[]): void {
  seen.push(args)
}

class Probe {
  @record
  method(): number {
    return 1
  }
}

it('calls method decorators with (prototype, name, descriptor)', () => {
  expect(new Probe().method()).toBe(1)
  expect(seen).toHaveLength(1)
  const [target, name, descriptor] = seen[0] as [object, string, PropertyDescriptor]
  expect(target).toBe(Probe.prototype)
  expect(name).toBe('method')
  expect(typeof descriptor.value).toBe('function')
})
