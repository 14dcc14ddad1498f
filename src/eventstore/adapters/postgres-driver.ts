import type pg from 'pg'
import { loadPeer } from '../../core/peer.js'

/** `pg`, loaded on first use: importing the PostgreSQL store never needs it (`E_MISSING_PEER` when absent). */
export function loadPgDriver(): typeof pg {
  return loadPeer<typeof pg>('pg', 'bulwark/eventstore/postgres')
}
