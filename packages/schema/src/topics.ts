/**
 * Topic scheme. Every device speaks under its own id, so the broker can authorize by topic alone:
 *   mytho/v1/devices/{deviceId}/readings   device → platform, JSON reading or array of readings, QoS 1
 *   mytho/v1/devices/{deviceId}/status     retained "online" / "offline" (the Last Will sets "offline") /
 *                                          "offline:planned" (a clean, planned goodbye: PLANNED_OFFLINE)
 *   mytho/v1/devices/{deviceId}/commands   platform → device
 */
export const TOPIC_ROOT = 'mytho/v1/devices'
export const topicSuffixes = ['readings', 'status', 'commands'] as const
export type TopicSuffix = (typeof topicSuffixes)[number]

/**
 * Device ids: lower-case ASCII, digits and dashes, 3–64 characters; safe in topics, tags and URLs. `mytho-` and `svc-`
 * are the platform's own (service accounts' user names and client ids, client-ids.ts): a device so named could take a
 * service's session.
 */
export const DEVICE_ID_PATTERN = /^(?!mytho-|svc-)[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$/

export const readingsTopic = (deviceId: string): string => `${TOPIC_ROOT}/${deviceId}/readings`
export const statusTopic = (deviceId: string): string => `${TOPIC_ROOT}/${deviceId}/status`
export const commandsTopic = (deviceId: string): string => `${TOPIC_ROOT}/${deviceId}/commands`

export const ALL_READINGS_FILTER = `${TOPIC_ROOT}/+/readings`
export const ALL_STATUS_FILTER = `${TOPIC_ROOT}/+/status`

export interface ParsedTopic {
  deviceId: string
  suffix: TopicSuffix
}

/** Splits a device topic; undefined for anything outside the scheme. */
// Called up to three times per reading (broker authorization, ingest routing, validation): no split, no arrays.
const DEVICE_PREFIX = `${TOPIC_ROOT}/`
export function parseDeviceTopic(topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(DEVICE_PREFIX)) return undefined
  const slash = topic.indexOf('/', DEVICE_PREFIX.length)
  if (slash === -1) return undefined
  const suffix = topic.slice(slash + 1)
  if (suffix !== 'readings' && suffix !== 'status' && suffix !== 'commands') return undefined
  const deviceId = topic.slice(DEVICE_PREFIX.length, slash)
  if (!DEVICE_ID_PATTERN.test(deviceId)) return undefined
  return { deviceId, suffix }
}

/**
 * Platform topics, published by our own services, never by devices:
 *   mytho/v1/platform/readings   ingest → API: JSON array of StoredReading, published after the batch is
 *                                durably stored (QoS 0: the API re-reads storage after a reconnect)
 *   mytho/v1/platform/incidents  ingest → API: one JSON {incident, event} per incident change, after it is
 *                                written to the incident store (QoS 0: the API re-reads the store on reconnect)
 *   mytho/v1/platform/redrive/order and /answer   API ⇄ ingest: a dead-letter re-drive (redrive.ts)
 */
export const PLATFORM_ROOT = 'mytho/v1/platform'
export const PLATFORM_READINGS_TOPIC = `${PLATFORM_ROOT}/readings`
export const PLATFORM_INCIDENTS_TOPIC = `${PLATFORM_ROOT}/incidents`
/** ingest → API and map: PipelineHealth JSON (pipeline-health.ts), retained, QoS 0, every few seconds and on change. */
export const PLATFORM_HEALTH_TOPIC = `${PLATFORM_ROOT}/health`
/** Stored readings per platform message, so a 5,000-reading batch stays far below the broker's packet limit. */
export const PLATFORM_READINGS_CHUNK = 500

export const connectionStatuses = ['online', 'offline'] as const
export type DeviceConnectionStatus = (typeof connectionStatuses)[number]

/**
 * A device that goes away on purpose (shut down, maintenance, the simulator's stop) says so before its clean
 * DISCONNECT: retained `offline:planned`. Its Last Will stays plain `offline`: the connection was lost, an incident.
 */
export const PLANNED_OFFLINE = 'offline:planned'

/** A status payload as devices send it: `online`, `offline` (Last Will) or `offline:planned`; undefined otherwise. */
export function parseStatusPayload(text: string): { status: DeviceConnectionStatus; planned: boolean } | undefined {
  const t = text.trim()
  if (t === PLANNED_OFFLINE) return { status: 'offline', planned: true }
  return t === 'online' || t === 'offline' ? { status: t, planned: false } : undefined
}
