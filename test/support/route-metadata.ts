/**
 * A stand-in for a framework's method decorator (NestJS's `@Get()`): it stores reflect-metadata on the
 * function it decorates, in either decorator mode. The decorator tests of both modes put Bulwark's
 * decorators above it and check that the function left on the prototype still carries it.
 */
import 'reflect-metadata'
import { expect } from 'vitest'

const ROUTE = 'bulwark:test:route'

/** Marks the decorated method's function with its own name under reflect-metadata. */
export function route(value: unknown, context: unknown, descriptor?: PropertyDescriptor): void {
  const fn = (typeof value === 'function' ? value : descriptor?.value) as (...args: unknown[]) => unknown
  Reflect.defineMetadata(ROUTE, `route of ${fn.name}`, fn)
  void context
}

/** Each named method on `prototype` is a wrapper that kept the original's metadata, name and length. */
export function expectRouteMetadataKept(prototype: object, methods: Record<string, number>): void {
  for (const [name, length] of Object.entries(methods)) {
    const fn = (prototype as Record<string, (...args: unknown[]) => unknown>)[name]
    expect(Reflect.getMetadata(ROUTE, fn as object), name).toBe(`route of ${name}`)
    expect(fn?.name).toBe(name)
    expect(fn?.length, name).toBe(length)
  }
}
