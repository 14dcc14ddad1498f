import type { ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../types.js'
import { validateId, validatePageSize, validateReadAllOptions, validateReadStreamOptions } from './validate.js'

type ReadStream = (streamId: string, options: ReadStreamOptions) => Promise<RecordedEvent[]>
type ReadAll = (options: ReadAllOptions) => Promise<RecordedEvent[]>

/**
 * `iterateStream` for any adapter, built on its `readStream`: one page of `pageSize` events in memory
 * at a time. Arguments are validated when it is called, so bad input fails before iteration starts.
 */
export function iterateStreamPages(
  read: ReadStream,
  streamId: string,
  options: (ReadStreamOptions & { pageSize?: number }) | undefined,
): AsyncIterable<RecordedEvent> {
  validateId(streamId)
  const { direction, fromVersion, maxCount } = validateReadStreamOptions(options)
  const pageSize = validatePageSize(options?.pageSize)
  return {
    async *[Symbol.asyncIterator]() {
      let from = fromVersion
      let remaining = maxCount
      while (remaining > 0) {
        const want = Math.min(pageSize, remaining)
        const page = await read(streamId, {
          direction,
          maxCount: want,
          ...(from === undefined ? {} : { fromVersion: from }),
        })
        for (const event of page) yield event
        const last = page[page.length - 1]
        if (page.length < want || !last) return
        remaining -= page.length
        from = direction === 'forwards' ? last.streamVersion + 1 : last.streamVersion - 1
        if (from < 1) return
      }
    },
  }
}

/** `iterateAll` for any adapter, built on its `readAll`: pages follow the global position. */
export function iterateAllPages(
  read: ReadAll,
  options: (ReadAllOptions & { pageSize?: number }) | undefined,
): AsyncIterable<RecordedEvent> {
  const valid = validateReadAllOptions(options)
  const pageSize = validatePageSize(options?.pageSize)
  const filters: ReadAllOptions = {}
  if (valid.types) filters.types = valid.types
  if (valid.recordedFrom) filters.recordedFrom = valid.recordedFrom
  if (valid.recordedTo) filters.recordedTo = valid.recordedTo
  return {
    async *[Symbol.asyncIterator]() {
      let after = valid.after
      let remaining = valid.maxCount
      while (remaining > 0) {
        const want = Math.min(pageSize, remaining)
        const page = await read({ ...filters, after, maxCount: want })
        for (const event of page) yield event
        const last = page[page.length - 1]
        if (page.length < want || !last) return
        remaining -= page.length
        after = last.globalPosition
      }
    },
  }
}
