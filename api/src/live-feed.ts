import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { z } from 'zod'
import {
  ALL_STATUS_FILTER,
  parseStatusPayload,
  IncidentChange,
  parseDeviceTopic,
  PipelineHealth,
  PLATFORM_HEALTH_TOPIC,
  PLATFORM_INCIDENTS_TOPIC,
  PLATFORM_READINGS_TOPIC,
  REDRIVE_ANSWER_TOPIC,
  StoredReading,
  type DeviceConnectionStatus,
} from '@mytho/schema'
import { once, urlList, type Logger } from '@mytho/runtime'
import { REGISTRY_NOTICE_TOPIC } from '@mytho/directory'

/*
 * The API's view of the live stream: what ingest durably stored (mytho/v1/platform/readings) and the devices'
 * retained connection status (their Last Will sets `offline`). A clean session at QoS 0: nothing is queued for
 * us while we are away, so after every (re)connect the owner re-reads storage (`onConnect`). The ingest's
 * pipeline health (mytho/v1/platform/health) is retained, so each (re)subscription brings the current one.
 */

const PlatformReadings = z.array(StoredReading)

export interface LiveFeedOptions {
  /**
   * `mqtt://host:port`, or the nodes of a broker cluster comma-separated (MQTT_URL): the first is tried first and each
   * reconnect tries the next (MQTT.js `servers`), so the feed moves to a live node when one dies.
   */
  url: string
  username: string
  /** Read at every (re)connect, so demo secrets written after our start (broker started later) are picked up. */
  password: () => string | undefined
  /** First reconnect delay, ms. Default 1000. */
  reconnectPeriodMs?: number
}

export interface LiveFeedDeps {
  logger: Logger
  onReadings(readings: StoredReading[]): void
  onConnection(deviceId: string, status: DeviceConnectionStatus): void
  /** An incident change the ingest's alert engine announced. */
  onIncident?(change: IncidentChange): void
  /** After each (re)connect and subscription; the owner catches up from storage. */
  onConnect(): void
  /** Whenever the link goes up or down. */
  onLink?(connected: boolean): void
  /** Each valid PipelineHealth the ingest announces (every few seconds, and its Last Will `down`). */
  onPipeline?(health: PipelineHealth): void
  /** An API node provisioned, moved, disabled or enabled a device (the registry notice): re-read the directory. */
  onRegistryNotice?(): void
  /** The ingest's answer to a re-drive order (redrive-client.ts parses it: an answer is for the node that asked). */
  onRedriveAnswer?(payload: Buffer): void
}

export class LiveFeedError extends Error {
  override name = 'LiveFeedError'
}

export function createLiveFeed(opts: LiveFeedOptions, deps: LiveFeedDeps) {
  const log = deps.logger
  const stats = { messages: 0, readings: 0, statuses: 0, bad: 0, connects: 0, health: 0, badHealth: 0 }
  let pipeline: PipelineHealth | undefined
  let client: MqttClient | undefined
  let connected = false

  const setLink = (up: boolean) => {
    if (up === connected) return
    connected = up
    deps.onLink?.(up)
  }

  /** Our own services' messages are still input: a bad one is counted and ignored, never a crash. */
  const parsePlatform = <S extends z.ZodType>(payload: Buffer, schema: S, what: string): z.infer<S> | undefined => {
    let json: unknown
    try {
      json = JSON.parse(payload.toString('utf8'))
    } catch {
      stats.bad++
      return undefined
    }
    const r = schema.safeParse(json)
    if (r.success) return r.data
    stats.bad++
    log.warn(`bad platform ${what} message`, { issues: r.error.issues.slice(0, 3) })
    return undefined
  }

  const onMessage = (topic: string, payload: Buffer) => {
    stats.messages++
    if (topic === PLATFORM_READINGS_TOPIC) {
      const readings = parsePlatform(payload, PlatformReadings, 'readings')
      if (!readings) return
      stats.readings += readings.length
      deps.onReadings(readings)
      return
    }
    if (topic === PLATFORM_HEALTH_TOPIC) {
      const health = parsePlatform(payload, PipelineHealth, 'health')
      if (!health) return void stats.badHealth++
      stats.health++
      pipeline = health
      deps.onPipeline?.(health)
      return
    }
    if (topic === REGISTRY_NOTICE_TOPIC) {
      // Which device does not matter: the whole directory is re-read, which also heals any notice missed before.
      deps.onRegistryNotice?.()
      return
    }
    if (topic === REDRIVE_ANSWER_TOPIC) {
      deps.onRedriveAnswer?.(payload)
      return
    }
    if (topic === PLATFORM_INCIDENTS_TOPIC) {
      const change = parsePlatform(payload, IncidentChange, 'incident')
      if (change) deps.onIncident?.(change)
      return
    }
    const t = parseDeviceTopic(topic)
    // A planned goodbye (`offline:planned`) is offline on the map too; only the alert engine tells it from a Last Will.
    const s = parseStatusPayload(payload.toString('utf8'))
    if (t?.suffix !== 'status' || !s) {
      stats.bad++
      return
    }
    stats.statuses++
    deps.onConnection(t.deviceId, s.status)
  }

  return {
    stats,
    get connected() {
      return connected
    },
    /** The last valid pipeline health the ingest announced, if any. */
    get pipeline(): PipelineHealth | undefined {
      return pipeline
    },
    /** Resolves on the first subscription; a refused login or subscription fails the start. */
    async start(): Promise<void> {
      const addresses = urlList(opts.url)
      // MQTT.js builds each connection's stream from the next entry of `servers` (wrapping), first one first.
      const servers = addresses.map((url) => {
        const u = new URL(url)
        return { host: u.hostname, port: Number(u.port || 1883), protocol: u.protocol === 'tcp:' ? ('tcp' as const) : ('mqtt' as const) }
      })
      const options = {
        clientId: `mytho-api-${randomBytes(4).toString('hex')}`,
        username: opts.username,
        ...(opts.password() !== undefined ? { password: opts.password()! } : {}),
        clean: true,
        reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
        // We subscribe ourselves on every connect: with a clean session the broker forgot us [MQTT-3.1.2-6].
        resubscribe: false,
      }
      const c = servers.length === 1 ? mqtt.connect(addresses[0]!, options) : mqtt.connect({ ...options, servers })
      client = c
      c.on('message', onMessage)
      c.on('reconnect', () => {
        const p = opts.password()
        if (p !== undefined) c.options.password = p
      })
      c.on('close', () => setLink(false))
      c.on('error', (err) => log.warn('live feed error', { err: err.message }))
      await new Promise<void>((resolve, reject) => {
        let first = true
        c.on('connect', () => {
          c.subscribe(
            {
              [PLATFORM_READINGS_TOPIC]: { qos: 0 },
              [PLATFORM_INCIDENTS_TOPIC]: { qos: 0 },
              [PLATFORM_HEALTH_TOPIC]: { qos: 0 },
              [ALL_STATUS_FILTER]: { qos: 0 },
              ...(deps.onRegistryNotice ? { [REGISTRY_NOTICE_TOPIC]: { qos: 0 as const } } : {}),
              ...(deps.onRedriveAnswer ? { [REDRIVE_ANSWER_TOPIC]: { qos: 0 as const } } : {}),
            },
            (err, granted) => {
              const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? []
              if (err || refused.length > 0) {
                const e = new LiveFeedError(`broker refused the live feed subscription ${refused.join(', ') || err?.message}`, { cause: err })
                log.error('live feed subscription refused', { err: e.message })
                if (first) (first = false), reject(e)
                return
              }
              stats.connects++
              setLink(true)
              log.info('live feed subscribed', { url: `${c.options.protocol}://${c.options.host}:${c.options.port}` })
              deps.onConnect()
              if (first) (first = false), resolve()
            },
          )
        })
        c.once('error', (err) => {
          // A refused login is not worth retrying at start: say so instead of hanging.
          if (first && (err as { code?: number }).code !== undefined && [4, 5, 134, 135].includes((err as { code: number }).code)) {
            first = false
            reject(new LiveFeedError(`broker refused the API's login as ${opts.username}: ${err.message}`, { cause: err }))
          }
        })
      })
    },
    /**
     * Publishes one of the API's own messages (the registry notice; a re-drive order at QoS 0, which must not wait in
     * a queue for an ingest that is away); false when the link is down or the broker refused it.
     */
    async publish(topic: string, payload: string, qos: 0 | 1 = 1): Promise<boolean> {
      const c = client
      if (!c || !connected) return false
      try {
        await c.publishAsync(topic, payload, { qos })
        return true
      } catch (err) {
        log.warn('publish failed', { topic, err: (err as Error).message })
        return false
      }
    },
    stop: once(async () => {
      const c = client
      if (!c) return
      await c.endAsync(true)
      setLink(false)
    }),
  }
}
export type LiveFeed = ReturnType<typeof createLiveFeed>
