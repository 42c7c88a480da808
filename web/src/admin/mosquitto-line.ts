import type { DeviceKind } from '@mytho/schema/kinds'

/** The CA certificate the installer downloads from the API (MQTT_PUBLIC_CA_FILE) and the name it is saved under. */
export interface BrokerCa {
  url: string
  fileName: string
}

/** The broker as installers reach it. */
export interface Broker {
  host: string
  port: number
  tls: boolean
  /** Over TLS, the platform's own CA to check the broker's certificate against; absent: the system's authorities. */
  ca?: BrokerCa
}

/**
 * From the API's MQTT_PUBLIC_URL and MQTT_PUBLIC_CA_FILE (GET /config); without the URL, the page's host on the
 * broker's standard port (TCP 1883). A CA matters only over TLS.
 */
export function brokerOf(mqttUrl: string | undefined, pageHost: string, ca?: BrokerCa): Broker {
  const m = mqttUrl === undefined ? null : /^(mqtts?):\/\/([A-Za-z0-9.-]+)(?::(\d+))?/.exec(mqttUrl)
  if (!m) return { host: pageHost, port: 1883, tls: false }
  const tls = m[1] === 'mqtts'
  return { host: m[2]!, port: m[3] ? Number(m[3]) : tls ? 8883 : 1883, tls, ...(tls && ca ? { ca } : {}) }
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
export const sh = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/** -i: the broker binds the client id to the device (client-ids.ts); -q 1: the broker acknowledges once it is stored. */
export function mosquittoPub(id: string, secret: string, kind: DeviceKind, broker: Broker): string {
  return [
    'mosquitto_pub',
    `-h ${sh(broker.host)}`,
    `-p ${broker.port}`,
    // TLS: the broker's certificate checked against the platform's CA (downloaded beside the line, saved in the
    // folder the line runs in), else against the system's authorities
    ...(broker.tls ? [broker.ca ? `--cafile ${sh(broker.ca.fileName)}` : '--capath /etc/ssl/certs'] : []),
    `-i ${sh(id)}`,
    `-u ${sh(id)}`,
    `-P ${sh(secret)}`,
    '-q 1',
    `-t ${sh(`mytho/v1/devices/${id}/readings`)}`,
    `-m ${sh(JSON.stringify(SAMPLE[kind]))}`,
  ].join(' ')
}
