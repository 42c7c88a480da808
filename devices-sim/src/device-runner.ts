import mqtt, { type MqttClient } from 'mqtt'
import { type DeviceRecord, PLANNED_OFFLINE, statusTopic } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { Publication } from './faults/apply.ts'
import type { Limiter } from './limiter.ts'

/** Counters shared by every device of a simulator; `connected` is a gauge, the rest only grow. */
export interface SimStats {
  /** Devices simulated. */
  devices: number
  /** Devices with a live broker connection now. */
  connected: number
  /** Readings handed to MQTT.js. */
  published: number
  /** Readings the broker acknowledged (PUBACK). */
  acked: number
  /** Failed connection attempts, readings lost or refused, client errors. */
  errors: number
  /** Connections re-established after a loss. */
  reconnects: number
}

export interface DeviceRunnerOptions {
  url: string
  device: DeviceRecord
  /** Connect without user name and password (a broker with MQTT_ALLOW_ANONYMOUS=true, for pure broker load). Default false. */
  anonymous?: boolean
  /** Read at every attempt, so a secret written after start (demo secrets) is picked up. */
  password: () => string | undefined
  /** The messages of the next reading (usually one; faults may make it none, two or a wrong topic); called once per reading. */
  nextMessages: () => Publication[]
  /** Real ms until the next reading (interval, speed and jitter applied). */
  nextDelayMs: () => number
  /** false: no readings of its own; someone else calls publishNow() (load mode's token bucket). Default true. */
  selfPaced?: boolean
  /** Connection attempts go through it (bounded concurrency). */
  gate: Limiter
  stats: SimStats
  log: Logger
  /** Seconds; MQTT keep-alive. */
  keepaliveS: number
  /** ms an attempt may take until CONNACK. */
  connectTimeoutMs: number
  /** First and largest wait before a retry, ms; doubled per failure, with jitter. */
  reconnectMinMs: number
  reconnectMaxMs: number
  /** Unacknowledged readings at most; beyond it readings are skipped (counted as errors). */
  maxInflight: number
  /** ms stop() waits for the `offline` PUBACK and a clean DISCONNECT before cutting the socket. */
  stopTimeoutMs: number
  /** Told of every failed attempt and lost connection, so a fleet-wide outage is logged once, not per device. */
  onConnectionFailure: (failure: ConnectionFailure) => void
}

export interface ConnectionFailure {
  deviceId: string
  /** The broker's refusal (CONNACK code) or the socket error, in words. */
  reason: string
  code?: unknown
  /** Failed attempts in a row for this device (0: a live connection was lost). */
  attempt: number
}

const refusal: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
}

const describe = (err: Error | undefined): { reason: string; code?: unknown } => {
  if (!err) return { reason: 'connection closed' }
  const code = (err as { code?: unknown }).code
  return { reason: typeof code === 'number' && refusal[code] ? refusal[code] : err.message, ...(code !== undefined ? { code } : {}) }
}

/**
 * One device's life on the broker: connect (through the gate), announce `online`, publish a
 * reading at once and then every interval, and on any loss retry with capped exponential backoff.
 * Nothing the broker does throws out of here: refusals and drops are logged and counted.
 */
export function createDeviceRunner(o: DeviceRunnerOptions) {
  const { device, stats, log } = o
  const status = statusTopic(device.id)
  let client: MqttClient | undefined
  let connected = false
  let stopped = false
  let everConnected = false
  let failures = 0
  let inflight = 0
  let readingTimer: NodeJS.Timeout | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let lastError: Error | undefined
  /** Real ms before which no reconnection is attempted (a scripted outage). */
  let offlineUntil = 0

  /** One connection attempt; resolves true once CONNACK accepted it, false on any failure. */
  const attempt = (): Promise<boolean> =>
    o.gate.run(async () => {
      if (stopped) return false
      const password = o.password()
      let c: MqttClient
      try {
        c = connectClient(password)
      } catch (err) {
        // A URL MQTT.js cannot use throws synchronously; count it like any failed attempt.
        stats.errors++
        failures++
        o.onConnectionFailure({ deviceId: device.id, ...describe(err as Error), attempt: failures })
        return false
      }
      client = c
      lastError = undefined
      // Always listening: an 'error' event without a listener would throw and end the process.
      c.on('error', (err) => {
        lastError = err
        log.debug('mqtt client error', { err: err.message })
      })
      const ok = await new Promise<boolean>((resolve) => {
        const done = (result: boolean) => {
          c.off('connect', onConnect)
          c.off('close', onClose)
          c.off('end', onClose)
          resolve(result)
        }
        const onConnect = () => done(true)
        const onClose = () => done(false)
        c.once('connect', onConnect)
        c.once('close', onClose)
        c.once('end', onClose)
      })
      if (!ok || stopped) {
        if (!ok) {
          stats.errors++
          failures++
          const failure = { deviceId: device.id, ...describe(lastError), attempt: failures }
          log.debug('device cannot connect; retrying with backoff', failure)
          o.onConnectionFailure(failure)
        }
        c.end(true)
        if (client === c) client = undefined
        return false
      }
      onConnected(c)
      return true
    })

  /*
   * mqtt.connect rather than mqtt.connectAsync: connectAsync hands out the client only after
   * CONNACK, and stop() must be able to abort an attempt a silent broker leaves hanging.
   * reconnectPeriod 0: retries are ours, through the gate and with backoff, so a broker restart
   * is not met by every device at once.
   */
  const connectClient = (password: string | undefined): MqttClient =>
    mqtt.connect(o.url, {
      clientId: device.id, // ids may exceed 23 bytes; servers may allow longer ones [MQTT-3.1.3-5], Aedes does
      ...(o.anonymous ? {} : { username: device.id, ...(password !== undefined ? { password } : {}) }),
      protocolVersion: 4,
      clean: true,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      // The broker publishes this if we vanish without DISCONNECT [MQTT-3.1.2-8]; retained so the map
      // shows the device offline even if it subscribes later.
      will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
    })

  const onConnected = (c: MqttClient) => {
    connected = true
    stats.connected++
    if (everConnected) {
      stats.reconnects++
      log.info('device reconnected', { afterFailures: failures })
    }
    everConnected = true
    failures = 0
    lastError = undefined
    c.once('close', () => onLost(c))
    c.publish(status, 'online', { qos: 1, retain: true }, (err) => {
      if (err) {
        stats.errors++
        log.debug('online status not acknowledged', { err: err.message })
      }
    })
    // One reading at once, so a freshly opened map has data without waiting an interval.
    if (o.selfPaced !== false) tick()
  }

  const onLost = (c: MqttClient) => {
    if (client === c) client = undefined
    if (connected) {
      connected = false
      stats.connected--
    }
    clearTimeout(readingTimer)
    readingTimer = undefined
    // Forced end flushes unacknowledged publishes to their callbacks as errors (clean session, no resend).
    c.end(true)
    inflight = 0
    if (stopped) return
    const failure = { deviceId: device.id, reason: `connection lost${lastError ? `: ${describe(lastError).reason}` : ''}`, attempt: 0 }
    log.debug('device connection lost; reconnecting', failure)
    o.onConnectionFailure(failure)
    scheduleRetry()
  }

  const scheduleRetry = () => {
    if (stopped || retryTimer) return
    const cap = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(20, Math.max(0, failures - 1)))
    // "Equal jitter": half fixed, half random, so devices that dropped together come back spread out.
    const wait = Math.max(cap / 2 + (Math.random() * cap) / 2, offlineUntil - Date.now())
    // Offline for good (until stop()); setTimeout would turn Infinity into 1 ms.
    if (!Number.isFinite(wait)) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      attempt().then(
        (ok) => {
          if (!ok) scheduleRetry()
        },
        (err: unknown) => {
          stats.errors++
          log.error('connection attempt failed unexpectedly', { err })
          scheduleRetry()
        },
      )
    }, wait)
  }

  /** Sends the next reading's messages now; false when not connected or too many are unacknowledged. */
  const publishNow = (): boolean => {
    const c = client
    if (stopped || !connected || !c) return false
    if (inflight >= o.maxInflight) {
      stats.errors++
      log.debug('reading skipped: too many unacknowledged', { inflight })
      return false
    }
    let messages: Publication[]
    try {
      messages = o.nextMessages()
    } catch (err) {
      // A generator bug must not take the fleet down from inside a timer: count it, try again next interval.
      stats.errors++
      log.error('cannot generate a reading', { err })
      return false
    }
    for (const m of messages) {
      inflight++
      stats.published++
      c.publish(m.topic, m.payload, { qos: 1 }, (err) => {
        if (client === c) inflight = Math.max(0, inflight - 1)
        if (err) {
          stats.errors++
          log.debug('message not acknowledged', { err: err.message, topic: m.topic })
        } else stats.acked++
      })
    }
    return true
  }

  const tick = () => {
    readingTimer = undefined
    if (stopped || !connected || !client) return
    readingTimer = setTimeout(tick, o.nextDelayMs())
    publishNow()
  }

  /**
   * A scripted outage: `will` cuts the socket (the broker publishes the Last Will `offline`);
   * otherwise a clean DISCONNECT without saying `offline`, so the Will is discarded
   * [MQTT-3.1.2-10] and the retained status still says `online`: only silence tells. The device
   * comes back after `offlineMs` (Infinity: not before stop()).
   */
  const drop = (opts: { will: boolean; offlineMs: number }): boolean => {
    const c = client
    if (stopped || !connected || !c) return false
    offlineUntil = Date.now() + opts.offlineMs
    if (opts.will) c.stream?.destroy()
    else c.end(false)
    return true
  }

  /**
   * Ends the connection cleanly: retained `offline:planned` (a planned goodbye, no incident, unlike the Will's `offline`;
   * a clean DISCONNECT discards the Will [MQTT-3.1.2-10]), then DISCONNECT.
   */
  const closeCleanly = async (c: MqttClient): Promise<void> => {
    c.publish(status, PLANNED_OFFLINE, { qos: 1, retain: true }, (err) => {
      if (err) stats.errors++
    })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      // end(false) waits for outstanding PUBACKs (the goodbye's included), then sends DISCONNECT.
      new Promise<void>((resolve) => c.end(false, {}, () => resolve())),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn('broker did not acknowledge in time; closing the socket', { timeoutMs: o.stopTimeoutMs })
          c.stream?.destroy()
          resolve()
        }, o.stopTimeoutMs)
      }),
    ])
    clearTimeout(timer)
  }

  return {
    device,
    publishNow,
    drop,
    get connected() {
      return connected
    },
    /** The first attempt; later ones run in the background. Resolves whether it connected. */
    async start(): Promise<boolean> {
      const ok = await attempt()
      if (!ok) scheduleRetry()
      return ok
    },
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      clearTimeout(readingTimer)
      clearTimeout(retryTimer)
      readingTimer = retryTimer = undefined
      const c = client
      if (!c) return
      if (connected) {
        await closeCleanly(c)
        if (connected) {
          connected = false
          stats.connected--
        }
      } else {
        // An attempt in flight: cut it. Had the broker already accepted it, the Will marks the device offline.
        c.end(true)
      }
      client = undefined
    },
  }
}
export type DeviceRunner = ReturnType<typeof createDeviceRunner>
