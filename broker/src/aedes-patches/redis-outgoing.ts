/*
 * Aedes patch. Replaces aedes-persistence-redis's QoS 1 outgoing-queue methods (outgoingEnqueue(Combi), outgoingUpdate,
 * outgoingClearMessageId) on its own key layout and encoding (msgpack-lite, aedes-persistence's Packet). Why: the
 * Redis round trips and encodes of every queued message were most of a cluster node's CPU; details below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { Logger } from '@mytho/runtime'
import { createInFlightIds, type InFlightPacket } from './in-flight-ids.ts'
import { createPooledEncoder } from './pooled-msgpack.ts'
import { batchPerTurn, READ_PARTS } from './turn-batch.ts'

const fromLibrary = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))
const { Packet } = fromLibrary('aedes-persistence') as { Packet: new (packet: QueuedPacket) => object }

/*
 * Per QoS 1 message to a persistent subscriber (the ingest: every reading), aedes-persistence-redis sends MSET +
 * RPUSH to enqueue, SET at delivery (the packet again, with its packet id) and GET, LREM, DECR, DEL on the
 * PUBACK: seven ioredis commands, each its own command object, promise and reply, and two msgpack encodes.
 * Here every enqueue, delivery and PUBACK of one event-loop turn goes to Redis in one Lua call (turn-batch.ts) that runs
 * the same commands in the same order (as the LevelDB store's level-outgoing.ts batches its writes):
 * - enqueue: SET packet, SET its reference count, RPUSH onto each subscriber's queue; it resolves once its batch
 *   has run, so the device's PUBACK (puback-after-publish.ts) still follows the write, and a batch runs atomically:
 *   no queue entry without its packet;
 * - delivery: the packet id goes into the stored packet (a session resumed on another node gets its messages again
 *   under those ids, and redelivery-dup.ts marks them DUP). The library encodes the whole packet again for this;
 *   here only the id travels, and the script writes it over the `messageId` entry's value in the stored bytes
 *   (setPacketId below: ~8 µs less node CPU per message, issue #20). The delivery does not wait for it, as a later
 *   PUBACK's step runs after it in the same or a later batch on the same connection; a packet already gone (its
 *   PUBACK came first) is not written back, where the library's SET brought it back for good;
 * - PUBACK: LREM (count 1: cluster-patches.ts removeOneQueueEntryPerAck), DECR, and DEL at zero (a count already
 *   gone, a PUBACK twice, is removed instead of left at -1 as the library leaves it); the packet id → queue key map
 *   and the packet Aedes reports with its 'ack' event come from memory instead of the library's LRU and a GET.
 * Encodes go through one pooled encoder (pooled-msgpack.ts). QoS 2, a packetTTL and anything this map did not see
 * (a PUBACK for a delivery made before a restart) keep the library's own path. Single Redis only: a batch touches
 * many keys, as the library's MSET and multi-key DEL already do without `cluster`, and its keys travel inside one
 * argument, undeclared (turn-batch.ts).
 */
/*
 * setPacketId: aedes-packet defines `messageId` last (a QoSPacket's writeCallback, stored as nil by the library, may
 * follow it), so the id is the value after the last `messageId` key (msgpack fixstr 0xa9) near the end of the bytes:
 * nil, a fixint, uint8 (0xcc) or uint16 (0xcd) as msgpack-lite writes them. It becomes a uint16 (ids are 1 to 65535),
 * which msgpack-lite reads back as the same number. A value in any other layout is left alone and counted, and the
 * node warns: the message is still delivered, only a session resumed elsewhere would get it under a new id.
 */
const BATCH = `${READ_PARTS}
local MESSAGE_ID = '\\169messageId'
local function setPacketId(key, id)
  local v = redis.call('GET', key)
  if not v then return true end
  local at
  local from = math.max(1, #v - 48)
  while true do
    local found = string.find(v, MESSAGE_ID, from, true)
    if not found then break end
    at, from = found, found + 1
  end
  if not at then return false end
  local valueAt = at + #MESSAGE_ID
  local b = string.byte(v, valueAt)
  local len
  if b == nil then return false
  elseif b == 192 or b < 128 then len = 1
  elseif b == 204 then len = 2
  elseif b == 205 then len = 3
  else return false end
  redis.call('SET', key, string.sub(v, 1, valueAt - 1) .. string.char(205, math.floor(id / 256), id % 256) .. string.sub(v, valueAt + len))
  return true
end
local steps, unchanged = 0, 0
while moreParts() do
  local op = nextPart()
  local kind = string.byte(op, 1)
  if kind == 69 then -- 'E' .. subscriber count
    local n = tonumber(string.sub(op, 2))
    local key = nextPart()
    local lists = {}
    for i = 1, n do lists[i] = nextPart() end
    redis.call('SET', key, nextPart())
    redis.call('SET', key .. ':offlineCount', n)
    for i = 1, n do redis.call('RPUSH', lists[i], key) end
  elseif kind == 85 then -- 'U' .. packet id
    local key = nextPart()
    if not setPacketId(key, tonumber(string.sub(op, 2))) then unchanged = unchanged + 1 end
  else
    local list = nextPart()
    local key = nextPart()
    local count = key .. ':offlineCount'
    redis.call('LREM', list, 1, key)
    if redis.call('DECR', count) <= 0 then redis.call('DEL', key, count) end
  end
  steps = steps + 1
end
return unchanged`
type QueuedPacket = InFlightPacket
type Client = { id: string }
type Sub = { clientId: string }
interface OutgoingMethods {
  outgoingEnqueueCombi(subs: Sub[] | undefined, packet: QueuedPacket): Promise<void>
  outgoingUpdate(client: Client, packet: QueuedPacket): Promise<void>
  outgoingClearMessageId(client: Client, packet: QueuedPacket): Promise<QueuedPacket | undefined>
}

// Key layout of aedes-persistence-redis 12 (asyncPersistence.js: outgoingKey, packetKey, packetCountKey).
const listKeys = new Map<string, string>()
/** Memoised: the ingest's queue key was encoded twice per message; the map holds one string per persistent client seen. */
const listKey = (clientId: string): string => {
  let key = listKeys.get(clientId)
  if (key === undefined) {
    key = `outgoing:${encodeURIComponent(clientId)}`
    if (listKeys.size >= 10_000) listKeys.clear()
    listKeys.set(clientId, key)
  }
  return key
}
const packetKey = (brokerId: string, brokerCounter: number) => `packet:${brokerId}:${brokerCounter}`

const DONE: Promise<void> = Promise.resolve()

type Scripted = Redis & { mythoQueueBatch(frame: Buffer): Promise<number> }

export function batchQueueSteps(persistence: Record<string, unknown>, db: Redis, logger: Logger): void {
  const library = {
    outgoingUpdate: (persistence['outgoingUpdate'] as OutgoingMethods['outgoingUpdate']).bind(persistence),
    outgoingClearMessageId: (persistence['outgoingClearMessageId'] as OutgoingMethods['outgoingClearMessageId']).bind(persistence),
  }
  db.defineCommand('mythoQueueBatch', { numberOfKeys: 0, lua: BATCH })
  const scripted = db as Scripted
  const encode = createPooledEncoder()

  const step = batchPerTurn(async (frame) => {
    let unchanged: number
    try {
      unchanged = await scripted.mythoQueueBatch(frame)
    } catch (err) {
      // Enqueues fail to their publishers (no PUBACK); deliveries' packet ids are not stored; acks stay queued.
      logger.warn('could not run queue steps in redis', { err: (err as Error).message })
      throw err
    }
    if (unchanged > 0) logger.warn('could not store packet ids in redis: queued packets not in the expected layout', { packets: unchanged })
  })

  const inFlight = createInFlightIds<QueuedPacket>()

  // Not async: an enqueue's promise is its batch's, one per turn (resolved with undefined), not two more per message.
  const outgoingEnqueueCombi: OutgoingMethods['outgoingEnqueueCombi'] = (subs, packet) => {
    if (!subs || subs.length === 0) return DONE
    const key = packetKey(packet.brokerId!, packet.brokerCounter!)
    const parts: (string | Buffer)[] = [`E${subs.length}`, key]
    for (const s of subs) parts.push(listKey(s.clientId))
    try {
      parts.push(encode(new Packet(packet)))
    } catch (err) {
      return Promise.reject(err as Error)
    }
    return step(parts) as Promise<void>
  }

  const outgoingUpdate: OutgoingMethods['outgoingUpdate'] = (client, packet) => {
    if (packet.cmd !== 'publish' || packet.qos !== 1 || packet.brokerId === undefined || packet.brokerCounter === undefined || packet.messageId === undefined) {
      return library.outgoingUpdate(client, packet)
    }
    const key = packetKey(packet.brokerId, packet.brokerCounter)
    inFlight.remember(client.id, packet.messageId, key, packet)
    step([`U${packet.messageId}`, key])
    return DONE
  }

  const outgoingClearMessageId: OutgoingMethods['outgoingClearMessageId'] = (client, packet) => {
    const entry = inFlight.take(client.id, packet.messageId)
    if (!entry) return library.outgoingClearMessageId(client, packet)
    return step(['C', listKey(client.id), entry.key]).then(() => entry.packet)
  }

  persistence['outgoingEnqueue'] = (sub: Sub, packet: QueuedPacket) => outgoingEnqueueCombi([sub], packet)
  persistence['outgoingEnqueueCombi'] = outgoingEnqueueCombi
  persistence['outgoingUpdate'] = outgoingUpdate
  persistence['outgoingClearMessageId'] = outgoingClearMessageId
}
