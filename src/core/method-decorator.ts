import { BulwarkError } from './errors.js'

type Method = (this: unknown, ...args: never[]) => unknown

/** The subset of reflect-metadata's API this module uses, when some code has loaded it. */
interface ReflectMetadata {
  getOwnMetadataKeys(target: object): unknown[]
  getOwnMetadata(key: unknown, target: object): unknown
  defineMetadata(key: unknown, value: unknown, target: object): void
}

/**
 * Builds a method decorator for both decorator modes, told apart by their arguments: TypeScript's
 * standard decorators (`(method, context)`) and `experimentalDecorators` as NestJS uses them
 * (`(prototype, name, descriptor)`). The method is replaced by `wrap(method)`, which takes over its
 * name, its length and its reflect-metadata: a decorator applied before this one (below it, such as
 * NestJS's `@Get()`) stored its metadata on the original function, and the framework reads it from the
 * function it finds on the prototype.
 */
export function methodDecorator(name: string, wrap: (method: Method) => Method): unknown {
  return (method: unknown, context: unknown, descriptor?: PropertyDescriptor) => {
    if (isStandardContext(context)) {
      if (context.kind !== 'method' || typeof method !== 'function') {
        throw new BulwarkError('E_INVALID_ARGUMENT', `@${name} decorates methods, not a ${context.kind}`)
      }
      return replace(method as Method, wrap)
    }
    if (descriptor === undefined || typeof descriptor.value !== 'function') {
      throw new BulwarkError('E_INVALID_ARGUMENT', `@${name} decorates methods, not ${String(context)}`)
    }
    descriptor.value = replace(descriptor.value as Method, wrap)
    return descriptor
  }
}

function replace(original: Method, wrap: (method: Method) => Method): Method {
  const wrapper = wrap(original)
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true })
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true })
  // Looked up at decoration time, not import time: reflect-metadata is often imported after Bulwark.
  const metadata = Reflect as unknown as Partial<ReflectMetadata>
  if (typeof metadata.getOwnMetadataKeys === 'function') {
    const api = metadata as ReflectMetadata
    for (const key of api.getOwnMetadataKeys(original))
      api.defineMetadata(key, api.getOwnMetadata(key, original), wrapper)
  }
  return wrapper
}

function isStandardContext(value: unknown): value is { kind: string } {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'
}
