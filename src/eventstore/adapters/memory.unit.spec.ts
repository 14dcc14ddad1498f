import { eventStoreSuite } from '../../testing/eventstore-suite.js'
import { memoryEventStore } from './memory.js'

// The guide's "Testing your own adapter" snippet is this region.
// #region own-adapter
// my-adapter.spec.ts: put your adapter's factory in place of memoryEventStore, and pass `options` on.
eventStoreSuite('memory', async (options) => {
  const store = memoryEventStore({ ...options })
  return { store, cleanup: () => store.close() }
})
// #endregion own-adapter
