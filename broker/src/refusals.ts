/**
 * Why the broker turned something away. A closed set, so dashboards and tests can name each one.
 *
 * Packet guard (connection closed): packet-too-large, malformed-length, preconnect-limit,
 * first-packet-not-connect, invalid-utf8, null-character, topic-too-long, topic-too-deep.
 * Authentication (CONNACK refusal): anonymous, unknown-username, bad-password, disabled,
 * client-id-rejected, client-id-not-own (an id that is not the credential's own: client-ids.ts), service-not-internal
 * (a service account outside the internal listener and MQTT_SERVICE_NETS), will-not-allowed, credential-store-error.
 * Authorization: publish-denied and publish-rate-exceeded (connection closed), subscribe-denied (SUBACK 0x80); topic-too-long
 * and topic-too-deep on a SUBSCRIBE also answer SUBACK 0x80.
 */
export type RefusalReason =
  | 'packet-too-large'
  | 'malformed-length'
  | 'preconnect-limit'
  | 'first-packet-not-connect'
  | 'invalid-utf8'
  | 'null-character'
  | 'topic-too-long'
  | 'topic-too-deep'
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
