/*
 * Aedes patch. Wraps aedes-persistence-level's per-client reads and writes and reads its key layout on disk, to answer from
 * memory for clients with nothing stored. Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { Readable } from 'node:stream'
import type { Level } from 'level'

/*
 * Which client ids have anything in the LevelDB session store, kept in memory so that a connection with
 * nothing stored costs no LevelDB reads. Aedes asks the store four questions at every CONNECT (subscriptions
 * to restore or clean, QoS 2 packets to clean, a will to delete, a queue to replay) and aedes-persistence-level
 * answers each with an iterator or a get, stream and generator objects included: in a storm of 10,000
 * connections that was most of the broker's garbage and of its peak RSS (BENCHMARKS.md, #8), for devices that
 * never had a session.
 *
 * The sets only grow while the broker runs: an id is added, synchronously, before its first write is issued,
 * and never removed, so "absent" always means "nothing on disk" and a wrong answer can only cost a read, never
 * hide a queued message. At start they are filled from the keys on disk (one seek per client, not per key).
 * Key layout: aedes-persistence-level 2.x (asyncPersistence.js: subByClientKey, outgoingByClientKey,
 * outgoingByIdKey, incomingByClientKey, willKey), ids encodeURIComponent'ed.
 */

type Client = { id: string }
type Sub = { clientId: string }
type Method = (...args: never[]) => unknown

const KINDS = {
  subscriptions: 'subscriptions:',
  /** Queued messages and, for the library's own path (QoS 2), their packet-id records ('outgoing-id:'). */
  outgoing: 'outgoing:',
  outgoingIds: 'outgoing-id:',
  incoming: 'incoming:',
  will: 'will:',
} as const
type Kind = keyof typeof KINDS

/** The id part of `prefix` + encodeURIComponent(id) [+ ':' + rest]. */
function idOf(key: string, prefix: string): { encoded: string; id: string } {
  const end = key.indexOf(':', prefix.length)
  const encoded = key.slice(prefix.length, end === -1 ? undefined : end)
  return { encoded, id: decodeURIComponent(encoded) }
}

async function idsUnder(db: Level<string, Buffer>, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>()
  const upper = `${prefix.slice(0, -1)};`
  const it = db.keys({ gte: prefix, lt: upper })
  try {
    for (;;) {
      const key = await it.next()
      if (key === undefined) break
      const { encoded, id } = idOf(key, prefix)
      ids.add(id)
      // Past every key of this client: ';' is the byte after the ':' that ends its id.
      it.seek(`${prefix}${encoded};`)
    }
  } finally {
    await it.close()
  }
  return ids
}

export interface SessionIndex {
  /** Whether `clientId` may have something stored of this kind. */
  has(kind: Kind, clientId: string): boolean
  /**
   * An empty replay for a client with no queue. Call it on the broker's persistence after every other wrapper
   * of outgoingStream (broker.ts: redelivery marks, partition filter): an empty queue skips their stream
   * operators too, which were the largest part of a connection's garbage.
   */
  replayNothingWhenEmpty(persistence: object): void
}

/** Wraps the store's methods; call after every other wrapper that writes (lightenOutgoingQueue), before Aedes uses it. */
export async function indexSessions(persistence: Record<string, unknown>, db: Level<string, Buffer>): Promise<SessionIndex> {
  const sets = {} as Record<Kind, Set<string>>
  for (const kind of Object.keys(KINDS) as Kind[]) sets[kind] = await idsUnder(db, KINDS[kind])
  const outgoing = (id: string) => sets.outgoing.has(id) || sets.outgoingIds.has(id)

  const library = <F extends Method>(name: string) => (persistence[name] as F).bind(persistence) as F
  const wrap = <F extends Method>(name: string, make: (original: F) => F) => {
    persistence[name] = make(library<F>(name))
  }

  // Writers: the id is known before the write is issued.
  wrap<(client: Client, subs: unknown[]) => Promise<void>>('addSubscriptions', (f) => (client, subs) => (sets.subscriptions.add(client.id), f(client, subs)))
  wrap<(sub: Sub, packet: unknown) => Promise<void>>('outgoingEnqueue', (f) => (sub, packet) => (sets.outgoing.add(sub.clientId), f(sub, packet)))
  wrap<(subs: Sub[] | undefined, packet: unknown) => Promise<void>>('outgoingEnqueueCombi', (f) => (subs, packet) => {
    for (const s of subs ?? []) sets.outgoing.add(s.clientId)
    return f(subs, packet)
  })
  // The library's outgoingUpdate (QoS 2, records lightenOutgoingQueue did not see) writes both key kinds.
  wrap<(client: Client, packet: unknown) => Promise<void>>(
    'outgoingUpdate',
    (f) => (client, packet) => (sets.outgoing.add(client.id), sets.outgoingIds.add(client.id), f(client, packet)),
  )
  wrap<(client: Client, packet: unknown) => Promise<void>>('incomingStorePacket', (f) => (client, packet) => (sets.incoming.add(client.id), f(client, packet)))
  wrap<(client: Client, packet: unknown) => Promise<void>>('putWill', (f) => (client, packet) => (sets.will.add(client.id), f(client, packet)))

  // Readers and cleaners: nothing stored, nothing to read.
  wrap<(client: Client) => Promise<unknown[]>>('subscriptionsByClient', (f) => async (client) => (sets.subscriptions.has(client.id) ? f(client) : []))
  wrap<(client: Client) => Promise<void>>('cleanSubscriptions', (f) => async (client) => {
    if (sets.subscriptions.has(client.id)) await f(client)
  })
  wrap<(client: Client, packet: unknown) => Promise<unknown>>(
    'outgoingClearMessageId',
    (f) => async (client, packet) => (outgoing(client.id) ? f(client, packet) : undefined),
  )
  wrap<(client: Client) => Promise<void>>('cleanIncoming', (f) => async (client) => {
    if (sets.incoming.has(client.id)) await f(client)
  })
  wrap<(client: Client) => Promise<unknown>>('getWill', (f) => async (client) => (sets.will.has(client.id) ? f(client) : undefined))
  wrap<(client: Client) => Promise<unknown>>('delWill', (f) => async (client) => (sets.will.has(client.id) ? f(client) : undefined))

  return {
    has: (kind, clientId) => sets[kind].has(clientId),
    replayNothingWhenEmpty(target) {
      const store = target as { outgoingStream(client: Client): Readable }
      const replay = store.outgoingStream.bind(store)
      store.outgoingStream = (client) => (outgoing(client.id) ? replay(client) : Readable.from([]))
    },
  }
}
