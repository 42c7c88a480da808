import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { Aedes, AedesOptions } from 'aedes'
import { Level } from 'level'
// @ts-expect-error aedes-persistence-level ships no types; it returns an aedes-persistence (types in aedes-persistence).
import levelPersistence from 'aedes-persistence-level'
import { lightenOutgoingQueue } from './aedes-patches/level-outgoing.ts'
import { indexSessions } from './aedes-patches/level-session-index.ts'
import { deliverInAnyOrder } from './aedes-patches/deliver-in-any-order.ts'
import { pubackAfterPublish } from './aedes-patches/puback-after-publish.ts'

/*
 * Where Aedes keeps sessions, subscriptions, QoS 1/2 queues, retained messages and wills.
 *
 * `memory`: aedes's default, lost on restart. `level`: aedes-persistence-level (the on-disk backend
 * Aedes 1.x lists as a peer, same async API as aedes-persistence 11) on a LevelDB directory in DATA_DIR.
 * A PUBACK to a device is sent only after the publish was enqueued for every persistent subscriber
 * (puback-after-publish.ts: Aedes 1.2 itself acknowledges first), and LevelDB has written the record to its
 * log before that resolves: a SIGKILLed broker restarts with the ingest's queue intact. (Without sync writes the log
 * reaches the OS, not the platter: a power cut may lose the last writes; a process crash does not.)
 */

export type PersistenceKind = 'memory' | 'level'

export interface BrokerPersistence {
  /** Passed to Aedes.createBroker; undefined keeps aedes's in-memory default. */
  readonly persistence: AedesOptions['persistence']
  /** More Aedes options this persistence needs (a cluster's Redis emitter and heartbeat); spread into Aedes.createBroker. */
  readonly aedesOptions?: Pick<AedesOptions, 'mq' | 'persistence' | 'heartbeatInterval'>
  /** Adjusts the broker to this persistence; call once, right after Aedes.createBroker. */
  attach(aedes: Aedes): void
  /** Closes the store after aedes.close(); safe twice. */
  close(): Promise<void>
}

export async function openPersistence(kind: PersistenceKind, dataDir: string): Promise<BrokerPersistence> {
  if (kind === 'memory') return { persistence: undefined, attach: () => {}, close: async () => {} }
  const dir = join(dataDir, 'broker-sessions')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const db = new Level<string, Buffer>(dir)
  await db.open()
  let closed: Promise<void> | undefined
  const persistence = (levelPersistence as (db: unknown) => Record<string, unknown>)(db)
  lightenOutgoingQueue(persistence, db)
  // A client still subscribing while the broker stops opens an iterator on the closed database, which throws
  // out of a stream nobody listens to any more (an uncaught LEVEL_DATABASE_NOT_OPEN). The streams are lazy, so
  // checking at creation is not enough: once closed, a streaming read ends quietly, also one begun before.
  for (const name of ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList']) {
    const original = persistence[name] as (...args: unknown[]) => Readable
    persistence[name] = (...args: unknown[]) => {
      if (closed) return Readable.from([])
      const source = original.apply(persistence, args)
      return Readable.from(
        (async function* () {
          try {
            for await (const item of source) {
              if (closed) return
              yield item
            }
          } catch (err) {
            if (!closed) throw err
          }
        })(),
      )
    }
  }
  // Last, so a connection with nothing stored skips the wrappers above too.
  const index = await indexSessions(persistence, db)
  return {
    persistence,
    attach(aedes) {
      deliverInAnyOrder(aedes)
      // Aedes 1.2 writes a QoS 1 PUBACK before it publishes: without this, a broker killed in that tick loses
      // readings whose devices were told they were delivered.
      pubackAfterPublish(aedes)
      index.replayNothingWhenEmpty((aedes as unknown as { persistence: object }).persistence)
    },
    close: () => (closed ??= db.close()),
  }
}
