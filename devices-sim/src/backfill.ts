import mqtt from 'mqtt'
import { type DeviceReading, type DeviceRecord, DeviceRegistry, loadRegistryFile, readingsTopic } from '@mytho/schema'
import type { SimConfig } from './config.ts'
import { type Logger, readDemoSecrets, silentLogger } from '@mytho/runtime'
import { initialState, nextReading } from './generators/index.ts'
import { createLimiter } from './limiter.ts'

/*
 * Backfill: a past window of readings with device timestamps, as fast as the broker acknowledges,
 * so charts have history on a first start. Readings sit on a grid of each device's interval
 * (ts multiple of intervalS since the epoch) and carry no seq: the same seed gives byte-identical
 * readings at the same (device, ts) keys, so running it twice stores nothing twice. Values follow
 * the models at the reading's own ts (the simulated clock is the real past here).
 */

export interface BackfillOptions {
  url: string
  devices: readonly DeviceRecord[]
  seed: number
  /** Window, ms UTC: readings with fromMs ≤ ts < toMs. */
  fromMs: number
  toMs: number
  /** MQTT password per device id (undefined: connect without one). */
  password: (id: string) => string | undefined
  /** Readings per message, at most. Default 500 (the contract's array limit). */
  maxReadingsPerMessage?: number
  /** Bytes per message, at most. Default 60,000 (ingest dead-letters messages over INGEST_MAX_PAYLOAD_BYTES, 64 KiB). */
  maxMessageBytes?: number
  /** Unacknowledged messages per device connection. Default 8. */
  windowPerDevice?: number
  /** Devices backfilling at a time. Default 20. */
  concurrency?: number
  logger?: Logger
}

export interface BackfillSummary {
  devices: number
  readings: number
  messages: number
  acked: number
  errors: number
  ms: number
}

/** The grid timestamps of a device in [from, to). */
export function backfillTimes(device: DeviceRecord, fromMs: number, toMs: number): number[] {
  const step = device.intervalS * 1000
  const out: number[] = []
  for (let t = Math.ceil(fromMs / step) * step; t < toMs; t += step) out.push(t)
  return out
}

/** A device's readings over the window, without seq, ts set: pure in (device, seed, window). */
export function backfillReadings(device: DeviceRecord, seed: number, fromMs: number, toMs: number): DeviceReading[] {
  let state = initialState(seed)
  return backfillTimes(device, fromMs, toMs).map((t) => {
    const next = nextReading(device, t, state)
    state = next.state
    const { seq: _seq, ...reading } = next.reading
    return { ...reading, ts: t } as DeviceReading
  })
}

/** JSON array payloads of at most maxReadings readings and maxBytes bytes each. */
export function chunkPayloads(readings: readonly DeviceReading[], maxReadings: number, maxBytes: number): string[] {
  const out: string[] = []
  let parts: string[] = []
  let bytes = 2
  for (const r of readings) {
    const s = JSON.stringify(r)
    if (parts.length > 0 && (parts.length >= maxReadings || bytes + s.length + 1 > maxBytes)) {
      out.push(`[${parts.join(',')}]`)
      parts = []
      bytes = 2
    }
    parts.push(s)
    bytes += s.length + 1
  }
  if (parts.length > 0) out.push(`[${parts.join(',')}]`)
  return out
}

export async function backfill(o: BackfillOptions): Promise<BackfillSummary> {
  const log = o.logger ?? silentLogger
  const started = Date.now()
  const summary: BackfillSummary = { devices: 0, readings: 0, messages: 0, acked: 0, errors: 0, ms: 0 }
  const gate = createLimiter(o.concurrency ?? 20)
  const window = o.windowPerDevice ?? 8

  const one = async (device: DeviceRecord) => {
    const readings = backfillReadings(device, o.seed, o.fromMs, o.toMs)
    const payloads = chunkPayloads(readings, o.maxReadingsPerMessage ?? 500, o.maxMessageBytes ?? 60_000)
    const password = o.password(device.id)
    // Its own client id, so a live connection of the same device is not taken over [MQTT-3.1.4-2].
    const client = await mqtt.connectAsync(o.url, {
      clientId: `${device.id}.backfill`,
      username: device.id,
      ...(password !== undefined ? { password } : {}),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    })
    client.on('error', () => {})
    try {
      const topic = readingsTopic(device.id)
      let next = 0
      // A sliding window of QoS 1 publishes: a new one as soon as one is acknowledged.
      const lane = async () => {
        while (next < payloads.length) {
          const payload = payloads[next++]!
          summary.messages++
          try {
            await client.publishAsync(topic, payload, { qos: 1 })
            summary.acked++
          } catch (err) {
            summary.errors++
            log.debug('backfill message not acknowledged', { deviceId: device.id, err: (err as Error).message })
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(window, payloads.length) }, lane))
      summary.readings += readings.length
      summary.devices++
    } finally {
      await client.endAsync()
    }
  }

  await Promise.all(
    o.devices.map((d) =>
      gate.run(() =>
        one(d).catch((err: unknown) => {
          summary.errors++
          log.warn('backfill failed for a device', { deviceId: d.id, err: (err as Error).message })
        }),
      ),
    ),
  )
  summary.ms = Date.now() - started
  log.info('backfill done', { ...summary, from: new Date(o.fromMs).toISOString(), to: new Date(o.toMs).toISOString() })
  return summary
}

/**
 * The last SIM_BACKFILL_HOURS of the selected devices, with their demo secrets from DATA_DIR (the
 * broker must have written them: call it after the broker started). What `npm start` and
 * `npm start -w devices-sim` run before going live; resolves undefined when there is nothing to do.
 */
export async function backfillRecent(
  config: Pick<SimConfig, 'MQTT_URL' | 'SIM_DEVICES' | 'SIM_SEED' | 'SIM_BACKFILL_HOURS' | 'DATA_DIR' | 'DEVICE_REGISTRY_FILE'>,
  deps: { registry?: DeviceRegistry | readonly DeviceRecord[]; logger?: Logger; now?: () => number } = {},
): Promise<BackfillSummary | undefined> {
  const log = deps.logger ?? silentLogger
  if (config.SIM_BACKFILL_HOURS <= 0) return undefined
  const secrets = readDemoSecrets(config.DATA_DIR)?.devices
  if (!secrets) {
    log.warn('no demo secrets yet: backfill skipped', { dataDir: config.DATA_DIR })
    return undefined
  }
  const reg = deps.registry ?? loadRegistryFile(config.DEVICE_REGISTRY_FILE)
  const all = reg instanceof DeviceRegistry ? reg.devices : reg
  const ids = config.SIM_DEVICES === 'all' ? undefined : new Set(config.SIM_DEVICES)
  const toMs = (deps.now ?? Date.now)()
  return backfill({
    url: config.MQTT_URL,
    devices: all.filter((d) => !ids || ids.has(d.id)),
    seed: config.SIM_SEED,
    fromMs: toMs - config.SIM_BACKFILL_HOURS * 3_600_000,
    toMs,
    password: (id) => secrets[id],
    logger: log,
  })
}
