import { eventStoreSuite } from '../../testing/eventstore-suite.js'
import { memoryEventStore } from './memory.js'

eventStoreSuite('memory', async (options) => ({ store: memoryEventStore(options) }))
