/*
 * Aedes patch. Replaces aedes-persistence-level's outgoing-queue methods (outgoingEnqueue(Combi), outgoingUpdate,
 * outgoingClearMessageId) and writes its key layout and packet encoding (aedes-packet, msgpack-lite from its own
 * dependencies). Why: a third of the LevelDB work; details below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import type { Level } from 'level'
import { createInFlightIds, type InFlightPacket } from './in-flight-ids.ts'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-level'))
const AedesPacket = fromLibrary('aedes-packet') as new (packet: QueuedPacket) => object
const msgpack = fromLibrary('msgpack-lite') as { encode(value: unknown): Buffer }

/*
 * The QoS 1 queue of a persistent session (the ingest's: every reading goes through it) with a third of the
 * LevelDB work. aedes-persistence-level spends, per message, 3 puts, 2 gets and a batch of 2 deletes: enqueue
 * (put the packet under its broker counter), outgoingUpdate (get it, put it again with its packet id, put it
 * under a second "by packet id" key) and outgoingClearMessageId (get by packet id, delete both keys). In `npm run
 * bench` that was 55 % of the broker's CPU.
 *
 * Only the enqueue has to be on disk: it is what a restarted broker replays, and a device gets its PUBACK only
 * after it (puback-after-publish.ts). The packet id is an attribute of one delivery attempt on one
 * connection: after a restart Aedes replays the queue with fresh ids anyway. So for QoS 1 publishes the packet
 * id → queue key map lives in memory, and enqueues and PUBACK deletes of one tick go to LevelDB as one batch
 * (each enqueue still resolves only once its batch is written).
 * QoS 2 (the PUBREL step must survive a restart) and anything this map did not see (records an older version
 * wrote) keep the library's own path.
 */

type QueuedPacket = InFlightPacket
type Client = { id: string }
interface OutgoingMethods {
  outgoingUpdate(client: Client, packet: QueuedPacket): Promise<void>
  outgoingClearMessageId(client: Client, packet: QueuedPacket): Promise<QueuedPacket | undefined>
}

// Key layout of aedes-persistence-level 2.x (asyncPersistence.js: outgoingByClientKey, outgoingKey, padId).
const queueKey = (clientId: string, brokerId: string, brokerCounter: number) =>
  `outgoing:${encodeURIComponent(clientId)}:${brokerId}:${String(brokerCounter).padStart(16, '0')}`

export function lightenOutgoingQueue(persistence: Record<string, unknown>, db: Level<string, Buffer>): void {
  const library = {
    outgoingUpdate: (persistence['outgoingUpdate'] as OutgoingMethods['outgoingUpdate']).bind(persistence),
    outgoingClearMessageId: (persistence['outgoingClearMessageId'] as OutgoingMethods['outgoingClearMessageId']).bind(persistence),
  }
  const inFlight = createInFlightIds<QueuedPacket>()

  // One LevelDB batch per tick for every enqueue and PUBACK of that tick (a put and its delete keep their order).
  let ops: ({ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string })[] = []
  let flushing: Promise<void> | undefined
  const writeSoon = (): Promise<void> =>
    (flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const batch = ops
      ops = []
      flushing = undefined
      await db.batch(batch, { valueEncoding: 'buffer' })
    }))
  const deleteSoon = (key: string): Promise<void> => {
    ops.push({ type: 'del', key })
    return writeSoon()
  }

  // The record is encoded exactly as the library encodes it (its own aedes-packet and msgpack-lite), so its
  // outgoingStream reads it back.
  const outgoingEnqueueCombi = async (subs: { clientId: string }[] | undefined, packet: QueuedPacket): Promise<void> => {
    if (!subs || subs.length === 0) return
    const value = msgpack.encode(new AedesPacket(packet))
    for (const sub of subs) ops.push({ type: 'put', key: queueKey(sub.clientId, packet.brokerId!, packet.brokerCounter!), value })
    await writeSoon()
  }
  const outgoingEnqueue = (sub: { clientId: string }, packet: QueuedPacket): Promise<void> => outgoingEnqueueCombi([sub], packet)

  const outgoingUpdate: OutgoingMethods['outgoingUpdate'] = async (client, packet) => {
    if (packet.cmd !== 'publish' || packet.qos !== 1 || packet.brokerId === undefined || packet.brokerCounter === undefined || packet.messageId === undefined) {
      return library.outgoingUpdate(client, packet)
    }
    inFlight.remember(client.id, packet.messageId, queueKey(client.id, packet.brokerId, packet.brokerCounter), packet)
  }

  const outgoingClearMessageId: OutgoingMethods['outgoingClearMessageId'] = async (client, packet) => {
    const entry = inFlight.take(client.id, packet.messageId)
    if (!entry) return library.outgoingClearMessageId(client, packet)
    await deleteSoon(entry.key)
    return entry.packet
  }

  // A reconnecting persistent session gets its unacknowledged messages again under their original packet ids
  // [MQTT-4.4.0-1]: the queue on disk does not hold them, this map does (a broker restart forgets them, and Aedes
  // then sends those messages under fresh ids).
  const libraryStream = (persistence['outgoingStream'] as (client: Client) => Readable).bind(persistence)
  const outgoingStream = (client: Client): Readable => {
    if (!inFlight.has(client.id)) return libraryStream(client)
    return libraryStream(client).map((packet: QueuedPacket) => {
      if (packet.brokerId !== undefined && packet.brokerCounter !== undefined) {
        const id = inFlight.idOf(client.id, queueKey(client.id, packet.brokerId, packet.brokerCounter))
        if (id !== undefined) packet.messageId = id
      }
      return packet
    })
  }

  persistence['outgoingUpdate'] = outgoingUpdate
  persistence['outgoingEnqueue'] = outgoingEnqueue
  persistence['outgoingEnqueueCombi'] = outgoingEnqueueCombi
  persistence['outgoingStream'] = outgoingStream
  persistence['outgoingClearMessageId'] = outgoingClearMessageId
}
