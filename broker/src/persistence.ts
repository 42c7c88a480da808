import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { AedesOptions } from 'aedes'
import { Level } from 'level'
// @ts-expect-error aedes-persistence-level ships no types; it returns an aedes-persistence (types in aedes-persistence).
import levelPersistence from 'aedes-persistence-level'

/*
 * Where Aedes keeps sessions, subscriptions, QoS 1/2 queues, retained messages and wills.
 *
 * `memory`: aedes's default, lost on restart. `level`: aedes-persistence-level (the on-disk backend
 * Aedes 1.x lists as a peer, same async API as aedes-persistence 11) on a LevelDB directory in DATA_DIR.
 * A PUBACK to a device is sent only after the publish was enqueued for every persistent subscriber
 * (aedes awaits outgoingEnqueueCombi), and LevelDB has written the record to its log before that
 * resolves: a SIGKILLed broker restarts with the ingest's queue intact. (Without sync writes the log
 * reaches the OS, not the platter: a power cut may lose the last writes; a process crash does not.)
 */

export type PersistenceKind = 'memory' | 'level'

export interface BrokerPersistence {
  /** Passed to Aedes.createBroker; undefined keeps aedes's in-memory default. */
  readonly persistence: AedesOptions['persistence']
  /** Closes the store after aedes.close(); safe twice. */
  close(): Promise<void>
}

export async function openPersistence(kind: PersistenceKind, dataDir: string): Promise<BrokerPersistence> {
  if (kind === 'memory') return { persistence: undefined, close: async () => {} }
  const dir = join(dataDir, 'broker-sessions')
  mkdirSync(dir, { recursive: true })
  const db = new Level<string, Buffer>(dir)
  await db.open()
  let closed: Promise<void> | undefined
  const persistence = (levelPersistence as (db: unknown) => Record<string, unknown>)(db)
  // A client still subscribing while the broker stops would open an iterator on the closed database, which
  // throws out of a stream nobody listens to: once closed, the streaming reads answer empty instead.
  for (const name of ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList']) {
    const original = persistence[name] as (...args: unknown[]) => Readable
    persistence[name] = (...args: unknown[]) => (closed ? Readable.from([]) : original.apply(persistence, args))
  }
  return {
    persistence,
    close: () => (closed ??= db.close()),
  }
}
