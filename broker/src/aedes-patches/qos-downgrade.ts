/*
 * Aedes patch. Patches each client's `deliver0`/`deliverQoS` and reads `client.subscriptions` (Aedes client internals, not in
 * its typings) to cap a forwarded message's QoS at the grant [MQTT-3.8.4-6]. Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import type { AedesPublishPacket, Client } from 'aedes'

/**
 * [MQTT-3.8.4-6] A message goes out at the minimum of its published QoS and the QoS granted to the
 * subscription. Aedes 1.2 lowers the QoS only when a subscription's filter is the topic itself, so a
 * QoS 1 subscription to `TopicA/+` receives a QoS 2 publish at QoS 2. This authorizeForward hook
 * finishes the job: it caps the QoS at the highest grant among the client's matching subscriptions
 * (Aedes delivers one copy per client for overlapping subscriptions, [MQTT-3.3.5-1] lets that copy
 * take the highest QoS).
 *
 * Aedes keeps the grants in `client.subscriptions` (filter → { qos }), not in its typings; the packet
 * passed here is the per-client copy, and the offline-queue path writes it after this hook returns,
 * so it is changed in place.
 */
type Deliver = (packet: AedesPublishPacket, callback: () => void) => void
type AedesClientInternals = Client & { subscriptions?: Record<string, { qos: number }>; deliver0: Deliver; deliverQoS: Deliver }

/** The highest QoS granted to a subscription of this client matching `topic`; -1 when none does. */
function highestGrant(subs: Record<string, { qos: number }>, topic: string): number {
  let granted = -1
  for (const filter in subs) {
    const qos = subs[filter]!.qos
    if (qos > granted && topicMatches(filter, topic)) granted = qos
  }
  return granted
}

export function downgradeToGrantedQos(client: Client, packet: AedesPublishPacket): AedesPublishPacket {
  if (packet.qos === 0) return packet
  const subs = (client as AedesClientInternals).subscriptions
  if (!subs) return packet
  // Fast path, taken for nearly every message: no grant lower than this QoS, nothing to match.
  let lower = false
  for (const filter in subs) if (subs[filter]!.qos < packet.qos) lower = true
  if (!lower) return packet
  const granted = highestGrant(subs, packet.topic)
  if (granted >= 0 && granted < packet.qos) packet.qos = granted as 0 | 1 | 2
  return packet
}

/**
 * The other half of [MQTT-3.3.5-1]: with overlapping subscriptions granted QoS 0 and QoS > 0
 * (`T/#` at 0, `T/+` at 2), Aedes 1.2 delivers one copy, and when the QoS 0 subscription's
 * delivery runs first, that copy goes out at QoS 0 and the QoS 2 one is dropped as a duplicate.
 * The client's QoS 0 delivery is replaced, before any subscription captures it (preConnect, ahead
 * of session restore), by one that hands a message to the QoS > 0 delivery when another matching
 * subscription was granted more; downgradeToGrantedQos then sets the QoS to that grant.
 */
export function deliverAtHighestGrant(client: Client): void {
  const c = client as AedesClientInternals
  const deliver0 = c.deliver0
  const deliverQoS = c.deliverQoS
  c.deliver0 = (packet, callback) => {
    if (packet.qos > 0 && c.subscriptions && highestGrant(c.subscriptions, packet.topic) > 0) return deliverQoS(packet, callback)
    return deliver0(packet, callback)
  }
}

/** MQTT topic filter matching, `$` topics excepted from leading wildcards [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true // also matches the parent level [MQTT-4.7.1-2]
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}
