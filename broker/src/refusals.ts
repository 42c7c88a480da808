/**
 * Why the broker turned something away. A closed set, so dashboards and tests can name each one.
 *
 * Packet guard (connection closed): packet-too-large, malformed-length, preconnect-limit,
 * first-packet-not-connect, invalid-utf8, null-character, topic-too-long, topic-too-deep, and what MQTT 3.1.1 says
 * the server MUST refuse (packet-guard.ts):
 *   protocol-violation: a packet the spec forbids [MQTT-4.8.0-1]: reserved or wrong fixed-header flags
 *     [MQTT-2.2.2-2], a packet type only a server sends, PUBLISH QoS 3 [MQTT-3.3.1-4] or QoS 0 with DUP
 *     [MQTT-3.3.1-2], packet id 0 [MQTT-2.3.1-1], a second CONNECT [MQTT-3.1.0-2], CONNECT flags that contradict
 *     each other or its payload [MQTT-3.1.2-3] [MQTT-3.1.2-11..15] [MQTT-3.1.2-18..22] [MQTT-3.1.3-1], a protocol
 *     name other than MQTT/MQIsdp [MQTT-3.1.2-1], (UN)SUBSCRIBE without a filter [MQTT-3.8.3-3] [MQTT-3.10.3-2] or
 *     with a bad requested QoS [MQTT-3-8.3-4], a body its fields overrun or do not fill;
 *   unsupported-protocol-version: MQTT with a level other than 4, MQIsdp with one other than 3: answered
 *     CONNACK 0x01, then closed [MQTT-3.1.2-2] (MQTT level 5 is left to Aedes, which answers the same);
 *   invalid-topic: a wildcard in a PUBLISH or Will topic [MQTT-3.3.2-2], a misplaced wildcard in a topic filter
 *     [MQTT-4.7.1-2] [MQTT-4.7.1-3], an empty topic or filter [MQTT-4.7.3-1];
 *   control-character: U+0001–U+001F or U+007F–U+009F in a client id, user name, topic or topic filter
 *     (MQTT 1.5.3 says SHOULD NOT; Mosquitto refuses them too).
 * Unsolicited acks: a PUBACK/PUBCOMP with packet id 0 is a protocol-violation; one for a non-zero packet id the
 * broker has not in flight is ignored, as Mosquitto does (3.1.1 has no MUST for it, and Aedes keeps no in-flight
 * record for clean sessions or retained deliveries, so closing on it would drop legitimate subscribers).
 * Authentication (CONNACK refusal): anonymous, unknown-username, bad-password, disabled,
 * client-id-rejected, client-id-not-own (an id that is not the credential's own: client-ids.ts), service-not-internal
 * (a service account outside the internal listener and MQTT_SERVICE_NETS), will-not-allowed, credential-store-error.
 * Authorization: publish-denied and publish-rate-exceeded (connection closed), subscribe-denied (SUBACK 0x80); topic-too-long
 * and topic-too-deep on a SUBSCRIBE also answer SUBACK 0x80.
 */
/** What the packet guard closes a connection for (packet-guard.ts), on the raw bytes. */
export type GuardReason =
  | 'packet-too-large'
  | 'malformed-length'
  | 'preconnect-limit'
  | 'first-packet-not-connect'
  | 'invalid-utf8'
  | 'null-character'
  | 'topic-too-long'
  | 'topic-too-deep'
  | 'protocol-violation'
  | 'unsupported-protocol-version'
  | 'invalid-topic'
  | 'control-character'

export type RefusalReason =
  | GuardReason
  | 'anonymous'
  | 'unknown-username'
  | 'bad-password'
  | 'disabled'
  | 'client-id-rejected'
  | 'client-id-not-own'
  | 'service-not-internal'
  | 'will-not-allowed'
  | 'credential-store-error'
  | 'publish-denied'
  | 'publish-rate-exceeded'
  | 'subscribe-denied'

export type RefusalCounts = Partial<Record<RefusalReason, number>>

/**
 * Counters kept by the broker. `connectionsRefused`: connections turned away before their session
 * started (CONNACK refusal, or closed by the guard before/at CONNECT). `packetsRefused`: packets of
 * an established session that were refused (the connection may have been closed for it).
 */
export interface BrokerStats {
  readonly connectionsRefused: RefusalCounts
  readonly packetsRefused: RefusalCounts
  /** Publishes whose readings got an `rxTs` stamp. */
  stamped: number
}

export function createStats(): BrokerStats {
  return { connectionsRefused: {}, packetsRefused: {}, stamped: 0 }
}

export function count(counts: RefusalCounts, reason: RefusalReason): void {
  counts[reason] = (counts[reason] ?? 0) + 1
}
