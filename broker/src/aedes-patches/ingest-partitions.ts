/*
 * Aedes patch. Patches the persistence's `subscriptionsByTopic` and each client's `deliver0`/`deliverQoS` (Aedes client
 * internals) to route a device's message to its ingest partition's session only. Why: Aedes has no shared
 * subscriptions; details below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import type { AedesPublishPacket, Client } from 'aedes'
import { parseDeviceTopic, parsePartitionClientId, partitionOf } from '@mytho/schema'

/*
 * Ingest partitions (issue #10): an ingest worker subscribes once per partition it owns, each with a persistent
 * session whose client id names the partition (`mytho-ingest-p03of08`, packages/schema/src/partitions.ts). Aedes
 * has no shared subscriptions, so every such session matches every device's topic; here a device's message goes
 * only to the session of its own partition:
 *  - queued (persistent sessions, online or not): the persistence's `subscriptionsByTopic`, which Aedes asks
 *    before it enqueues a QoS 1 message, answers without the other partitions' sessions, so one copy is written,
 *    not P (memory, level and Redis persistences alike: the wrapper sits on the persistence object Aedes uses);
 *  - delivered live: the session's delivery functions skip the message before Aedes looks at it. Not with
 *    authorizeForward alone: Aedes answers a refused forward to a persistent client with
 *    outgoingClearMessageId(packet), and a live packet has no message id yet, so the in-memory persistence
 *    would remove the first queued entry still without one: a message of this partition not yet sent.
 *  - replayed from a queue on reconnect: `ownPartitionForward` (authorizeForward) drops what a queue written
 *    before partitioning holds for another partition (those entries have their message id: clearing is right).
 * Topics that name no device (platform topics) are not filtered.
 */

interface Subscription {
  clientId: string
}
type SubscriptionsByTopic = (topic: string) => Promise<Subscription[]>
type Deliver = (packet: AedesPublishPacket, callback: () => void) => void
type DeliveringClient = Client & { deliver0: Deliver; deliverQoS: Deliver }

// Client ids seen are few (P per prefix): parse each once.
const parsedIds = new Map<string, { index: number; partitions: number } | null>()
function partitionOfClient(clientId: string): { index: number; partitions: number } | undefined {
  let p = parsedIds.get(clientId)
  if (p === undefined) {
    p = parsePartitionClientId(clientId) ?? null
    if (parsedIds.size > 10_000) parsedIds.clear() // device ids never match, but do not grow without bound
    parsedIds.set(clientId, p)
  }
  return p ?? undefined
}

/** True unless `clientId` is a partition session and the topic's device belongs to another partition. */
export function partitionOwns(clientId: string, topic: string): boolean {
  const p = partitionOfClient(clientId)
  if (!p) return true
  const device = parseDeviceTopic(topic)
  return !device || partitionOf(device.deviceId, p.partitions) === p.index
}

/** The subscriptions without those of partition sessions that do not own the topic's device; the same array when none goes. */
function ownedOnly(subs: Subscription[], topic: string): Subscription[] {
  for (const s of subs) if (!partitionOwns(s.clientId, topic)) return subs.filter((x) => partitionOwns(x.clientId, topic))
  return subs
}

/** Makes the persistence Aedes uses answer `subscriptionsByTopic` with only the owning partition session. */
export function filterQueuedByPartition(persistence: object): void {
  const p = persistence as { subscriptionsByTopic: SubscriptionsByTopic }
  const original = p.subscriptionsByTopic.bind(persistence)
  // A `then` rather than an async function: Aedes asks this for every QoS 1 publish, and the async wrapper's frame and
  // promises were 4 % of the bytes the embedded broker allocated under load (where the answer is nearly always empty).
  p.subscriptionsByTopic = (topic) => original(topic).then((subs) => (subs.length === 0 ? subs : ownedOnly(subs, topic)))
}

/** Wraps a connecting partition session's live delivery (call in preConnect, before its subscriptions are restored). */
export function deliverOwnPartitionOnly(client: Client, clientId: string): void {
  if (!partitionOfClient(clientId)) return
  const c = client as DeliveringClient
  for (const name of ['deliver0', 'deliverQoS'] as const) {
    const deliver = c[name]
    c[name] = (packet, callback) => (partitionOwns(clientId, packet.topic) ? deliver(packet, callback) : setImmediate(callback))
  }
}

/** authorizeForward: `next` for what the client's partition owns, nothing otherwise. */
export function ownPartitionForward(next: (client: Client, packet: AedesPublishPacket) => AedesPublishPacket | null | undefined) {
  return (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null | undefined =>
    partitionOwns(client.id, packet.topic) ? next(client, packet) : null
}
