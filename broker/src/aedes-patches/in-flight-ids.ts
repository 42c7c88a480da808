/*
 * The packet id → queue entry map of the QoS 1 messages in flight to each persistent subscriber, kept in memory by
 * both outgoing-queue patches (level-outgoing.ts, redis-outgoing.ts). A packet id belongs to one delivery attempt on
 * one connection, so it need not be stored: after a broker restart Aedes replays the queue under fresh ids.
 */

export interface InFlightPacket {
  cmd?: string
  qos?: number
  brokerId?: string
  brokerCounter?: number
  messageId?: number
}

export interface InFlight<P extends InFlightPacket> {
  /** The queue entry's key in the store. */
  key: string
  packet: P
}

export interface InFlightIds<P extends InFlightPacket> {
  /** A delivery of the entry `key` under `messageId`; a redelivery under a new id forgets the old one. */
  remember(clientId: string, messageId: number, key: string, packet: P): void
  /** The PUBACK of `messageId`: its entry, forgotten, or undefined when this map never saw it. */
  take(clientId: string, messageId: number | undefined): InFlight<P> | undefined
  /** The packet id the entry `key` is in flight under, if any. */
  idOf(clientId: string, key: string): number | undefined
  /** Whether the client has anything in flight here. */
  has(clientId: string): boolean
}

export function createInFlightIds<P extends InFlightPacket>(): InFlightIds<P> {
  /** client id → packet id → the queued packet now in flight under that id. */
  const byClient = new Map<string, Map<number, InFlight<P>>>()
  /** client id → queue key → its packet id. */
  const idOfKey = new Map<string, Map<string, number>>()
  return {
    remember(clientId, messageId, key, packet) {
      let byId = byClient.get(clientId)
      let ids = idOfKey.get(clientId)
      if (!byId || !ids) {
        byClient.set(clientId, (byId = new Map()))
        idOfKey.set(clientId, (ids = new Map()))
      }
      const previous = ids.get(key)
      if (previous !== undefined && previous !== messageId) byId.delete(previous)
      const reused = byId.get(messageId)
      if (reused && reused.key !== key) ids.delete(reused.key)
      byId.set(messageId, { key, packet })
      ids.set(key, messageId)
    },
    take(clientId, messageId) {
      const byId = byClient.get(clientId)
      const entry = messageId === undefined ? undefined : byId?.get(messageId)
      if (!entry || !byId || messageId === undefined) return undefined
      byId.delete(messageId)
      const ids = idOfKey.get(clientId)
      ids?.delete(entry.key)
      if (byId.size === 0) {
        byClient.delete(clientId)
        idOfKey.delete(clientId)
      }
      return entry
    },
    idOf: (clientId, key) => idOfKey.get(clientId)?.get(key),
    has: (clientId) => idOfKey.has(clientId),
  }
}
