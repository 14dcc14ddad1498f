import type * as Mongo from 'mongodb'
import { loadPeer, peerVersion } from '../../core/peer.js'

/** The `mongodb` driver, loaded on first use: importing the MongoDB store never needs it (`E_MISSING_PEER` when absent). */
export function loadMongoDriver(): typeof Mongo {
  return loadPeer<typeof Mongo>('mongodb', 'bulwark/eventstore/mongodb')
}

/** The installed driver's version, when it can be read. */
export function mongoDriverVersion(): string | undefined {
  return peerVersion('mongodb')
}
