import type { Client } from 'aedes'

/**
 * Per-connection publish rate limit: a token bucket per client, `ratePerS` tokens a second up to `burst`.
 * Kept beside the Aedes client (WeakMap) so it goes away with the connection. One runaway device then
 * costs its own connection, not the broker's time for the others: MQTT 3.1.1 has no way to refuse one
 * PUBLISH, so the caller closes the connection on the first one over the limit (Aedes does that when
 * authorizePublish fails) and the device reconnects with a full bucket after its back-off.
 */
export interface PublishRateLimit {
  /** true when the client may publish one more message now. */
  take(client: Client): boolean
}

export function createPublishRateLimit(ratePerS: number, burst: number, clock: () => number = Date.now): PublishRateLimit {
  const buckets = new WeakMap<Client, { tokens: number; at: number }>()
  return {
    take(client) {
      if (ratePerS <= 0) return true
      const now = clock()
      const b = buckets.get(client) ?? { tokens: burst, at: now }
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerS)
      b.at = now
      buckets.set(client, b)
      if (b.tokens < 1) return false
      b.tokens -= 1
      return true
    },
  }
}
