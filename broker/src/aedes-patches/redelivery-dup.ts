/*
 * Aedes patch. Patches the Aedes persistence's `outgoingStream` (any persistence: memory, level, redis) so a replayed PUBLISH
 * carries DUP=1. Why: Aedes 1.2 replays with DUP=0 [MQTT-3.3.1-1]; details below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import type { Readable } from 'node:stream'
import type { Aedes } from 'aedes'

interface QueuedPacket {
  cmd: string
  /** null, not undefined, once a disk persistence has round-tripped the packet (msgpack has no undefined). */
  messageId?: number | null | undefined
  dup?: boolean
}

/**
 * [MQTT-3.3.1-1] A PUBLISH the broker sends again must carry DUP=1. Aedes 1.2 replays a persistent
 * session's unacknowledged messages on reconnect [MQTT-4.4.0-1] with their original packet ids but
 * DUP=0. The replay reads `persistence.outgoingStream(client)`; a queued PUBLISH that already has a
 * packet id there has been sent before (the id is given on first send), so it goes out again marked
 * as a duplicate. Messages queued while the client was away have no id yet and keep DUP=0. PUBREL
 * entries are left alone (their fixed header has no DUP).
 */
export function markRedeliveries(aedes: Aedes): void {
  const persistence = (aedes as unknown as { persistence: { outgoingStream(client: unknown): Readable } }).persistence
  const outgoingStream = persistence.outgoingStream.bind(persistence)
  persistence.outgoingStream = (client) =>
    outgoingStream(client).map((p: QueuedPacket) => (p.cmd === 'publish' && p.messageId != null && !p.dup ? { ...p, dup: true } : p))
}
