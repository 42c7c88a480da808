import type { DeviceKind } from '@mytho/schema/kinds'

/** The broker as installers reach it. */
export interface Broker {
  host: string
  port: number
  tls: boolean
}

/** From the API's MQTT_PUBLIC_URL (GET /config); without it, the page's host on the broker's standard port (TCP 1883). */
export function brokerOf(mqttUrl: string | undefined, pageHost: string): Broker {
  const m = mqttUrl === undefined ? null : /^(mqtts?):\/\/([A-Za-z0-9.-]+)(?::(\d+))?/.exec(mqttUrl)
  if (!m) return { host: pageHost, port: 1883, tls: false }
  const tls = m[1] === 'mqtts'
  return { host: m[2]!, port: m[3] ? Number(m[3]) : tls ? 8883 : 1883, tls }
}

/** A reading each kind's contract accepts (packages/schema readings.ts), for the installer's first test. */
const SAMPLE: Record<DeviceKind, Record<string, unknown>> = {
  traffic: { kind: 'traffic', intervalS: 60, vehicleCount: 42, avgSpeedKmh: 28, occupancyPct: 12 },
  water_level: { kind: 'water_level', waterLevelCm: 120 },
  rain: { kind: 'rain', rainMm: 0.4 },
  salinity: { kind: 'salinity', salinityGL: 1.2 },
  air_quality: { kind: 'air_quality', pm25UgM3: 35 },
}

/** POSIX single quotes: nothing inside is expanded; a quote is closed, escaped and reopened. */
const sh = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/** -i: the broker binds the client id to the device (client-ids.ts); -q 1: the broker acknowledges once it is stored. */
export function mosquittoPub(id: string, secret: string, kind: DeviceKind, broker: Broker): string {
  return [
    'mosquitto_pub',
    `-h ${sh(broker.host)}`,
    `-p ${broker.port}`,
    // TLS: the broker's certificate checked against the system's authorities
    ...(broker.tls ? ['--capath /etc/ssl/certs'] : []),
    `-i ${sh(id)}`,
    `-u ${sh(id)}`,
    `-P ${sh(secret)}`,
    '-q 1',
    `-t ${sh(`mytho/v1/devices/${id}/readings`)}`,
    `-m ${sh(JSON.stringify(SAMPLE[kind]))}`,
  ].join(' ')
}
