import type { AedesOptions, Client } from 'aedes'
import { REGISTRY_NOTICE_TOPIC } from '@mytho/directory'
import { SERVICE_ACCOUNTS, type Logger } from '@mytho/runtime'
import {
  parseDeviceTopic,
  PLATFORM_HEALTH_TOPIC,
  PLATFORM_INCIDENTS_TOPIC,
  PLATFORM_READINGS_TOPIC,
  REDRIVE_ANSWER_TOPIC,
  REDRIVE_ORDER_TOPIC,
  TOPIC_ROOT,
} from '@mytho/schema'
import { describePrincipal, principalOf, type Principal } from './principal.ts'
import { count, type BrokerStats } from './refusals.ts'
import type { PublishRateLimit } from './publish-rate.ts'
import { stampReceiveTime } from './stamp-receive-time.ts'

/*
 * Topic rules, decided by topic alone (every device speaks under its own id):
 *   device d      publish  mytho/v1/devices/d/readings, mytho/v1/devices/d/status (its Will included)
 *                 subscribe mytho/v1/devices/d/commands
 *   svc-ingest    subscribe mytho/v1/devices/{+|id}/readings and /status and the re-drive order; publish commands
 *                 and the platform topics it writes: readings (what it stored), incidents, health, the re-drive
 *                 answer (nothing else under mytho/v1/platform/: a stolen ingest password should not reach topics
 *                 the ingest never uses)
 *   svc-api       subscribe anything under mytho/v1/; publish mytho/v1/devices/{id}/commands, the registry notice
 *                 mytho/v1/platform/registry (provisioning: drop a disabled device) and the re-drive order
 *                 mytho/v1/platform/redrive/order (the ingest writes what an operator re-drives)
 *   anonymous     everything (MQTT_ALLOW_ANONYMOUS, development and interoperability tests only)
 * $SYS/ is the broker's own: nobody publishes there (aedes#597).
 */

const SYS_PREFIX = '$SYS/'
const INGEST_PUBLISHES: ReadonlySet<string> = new Set([PLATFORM_READINGS_TOPIC, PLATFORM_INCIDENTS_TOPIC, PLATFORM_HEALTH_TOPIC, REDRIVE_ANSWER_TOPIC])
const API_ROOT = 'mytho/v1/'

export function canPublish(p: Principal, topic: string): boolean {
  if (topic.startsWith(SYS_PREFIX)) return false
  switch (p.kind) {
    case 'anonymous':
      return true
    case 'device': {
      const t = parseDeviceTopic(topic)
      return t !== undefined && t.deviceId === p.deviceId && (t.suffix === 'readings' || t.suffix === 'status')
    }
    case 'service':
      // The registry notice drops device connections: the API's alone, never the ingest's.
      if (topic === REGISTRY_NOTICE_TOPIC) return p.name === SERVICE_ACCOUNTS.api
      // An order makes the ingest write storage: the API's alone (an answer is the ingest's alone, above).
      if (topic === REDRIVE_ORDER_TOPIC) return p.name === SERVICE_ACCOUNTS.api
      if (p.name === SERVICE_ACCOUNTS.ingest && INGEST_PUBLISHES.has(topic)) return true
      return parseDeviceTopic(topic)?.suffix === 'commands'
  }
}

/** A filter is allowed when every topic it can match is allowed; so `+` only where a device id goes. */
export function canSubscribe(p: Principal, filter: string): boolean {
  switch (p.kind) {
    case 'anonymous':
      return true
    case 'device':
      return filter === `${TOPIC_ROOT}/${p.deviceId}/commands`
    case 'service':
      if (p.name === SERVICE_ACCOUNTS.api) return filter.startsWith(API_ROOT)
      return ingestMayRead(filter)
  }
}

function ingestMayRead(filter: string): boolean {
  if (filter === REDRIVE_ORDER_TOPIC) return true
  if (!filter.startsWith(`${TOPIC_ROOT}/`)) return false
  const levels = filter.slice(TOPIC_ROOT.length + 1).split('/')
  if (levels.length !== 2) return false
  const [id, suffix] = levels as [string, string]
  if (suffix !== 'readings' && suffix !== 'status') return false
  return id === '+' || parseDeviceTopic(`${TOPIC_ROOT}/${id}/${suffix}`) !== undefined
}

export interface AuthorizationOptions {
  /** Longest topic filter granted, UTF-8 bytes (PUBLISH topics are held to it by the packet guard). */
  maxTopicBytes: number
  /** Most levels in a topic filter granted. */
  maxTopicLevels: number
}

export interface AuthorizationDeps {
  stats: BrokerStats
  logger: Logger
  /** Receive time for `rxTs`, epoch ms. */
  clock: () => number
  /** Per-connection publish limit for devices (services are ours and exempt). Default: none. */
  publishRate?: PublishRateLimit
  /** Holds device readings while the ingest's spool is full (pipeline-gate.ts). Default: none. */
  gate?: { readonly blocked: boolean; hold(go: () => void): void }
}

function levelsOf(topic: string): number {
  let levels = 1
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++
  return levels
}

const remoteOf = (client: Client | null): string | undefined => (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress

/** Aedes's authorizePublish and authorizeSubscribe hooks. */
export function createAuthorizationHooks(
  opts: AuthorizationOptions,
  deps: AuthorizationDeps,
): Required<Pick<AedesOptions, 'authorizePublish' | 'authorizeSubscribe'>> {
  const { stats, logger } = deps
  type Publish = Parameters<AedesOptions['authorizePublish'] & {}>[1]
  // Made once, not per publish: a closure per reading also costs tsx's keepNames a __name call each.
  const accept = (packet: Publish, callback: (err: Error | null) => void) => {
    if (packet.topic.endsWith('/readings') && packet.payload.length > 0) {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
      const stamped = stampReceiveTime(payload, deps.clock())
      if (stamped !== payload) {
        packet.payload = stamped
        stats.stamped++
      }
    }
    callback(null)
  }
  return {
    authorizePublish(client, packet, callback) {
      // client is null only for a Will left by a connection Aedes no longer knows; it was checked at CONNECT.
      const principal = client ? principalOf(client) : ({ kind: 'anonymous' } as const)
      if (!principal || !canPublish(principal, packet.topic)) {
        // [MQTT-3.3.5-2] 3.1.1 cannot tell the client: Aedes closes the connection on this error.
        count(stats.packetsRefused, 'publish-denied')
        logger.debug('publish refused', {
          reason: 'publish-denied',
          who: describePrincipal(principal),
          clientId: client?.id,
          topic: packet.topic,
          remote: remoteOf(client),
        })
        return callback(new Error(`${describePrincipal(principal)} may not publish to ${packet.topic}`))
      }
      if (client && principal.kind === 'device' && deps.publishRate && !deps.publishRate.take(client)) {
        // Aedes closes the connection on this error (3.1.1 cannot refuse one PUBLISH): see publish-rate.ts.
        count(stats.packetsRefused, 'publish-rate-exceeded')
        logger.warn('publish rate exceeded; connection closed', { who: describePrincipal(principal), clientId: client.id, remote: remoteOf(client) })
        return callback(new Error(`${describePrincipal(principal)} publishes faster than allowed`))
      }
      // Readings wait (no PUBACK, no further reads on that connection) while the pipeline is blocked; stamped
      // on release, so rxTs is when the broker took the reading.
      if (deps.gate?.blocked && principal.kind === 'device' && packet.topic.endsWith('/readings')) deps.gate.hold(() => accept(packet, callback))
      else accept(packet, callback)
    },

    authorizeSubscribe(client, sub, callback) {
      const principal = principalOf(client)
      const bytes = Buffer.byteLength(sub.topic)
      const reason =
        bytes > opts.maxTopicBytes
          ? 'topic-too-long'
          : levelsOf(sub.topic) > opts.maxTopicLevels
            ? 'topic-too-deep'
            : !principal || !canSubscribe(principal, sub.topic)
              ? 'subscribe-denied'
              : undefined
      if (reason === undefined) return callback(null, sub)
      // A null subscription is Aedes's way to answer SUBACK 0x80 for it and keep the connection [MQTT-3.9.3].
      count(stats.packetsRefused, reason)
      logger.debug('subscription refused', { reason, who: describePrincipal(principal), clientId: client.id, filter: sub.topic, remote: remoteOf(client) })
      callback(null, null)
    },
  }
}
