import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { onTestFinished } from 'vitest'
import { readDemoSecrets, SERVICE_ACCOUNTS, type DemoSecrets } from '@mytho/runtime'
import { DeviceRegistry, loadRegistryFile, SERVICE_CLIENT_ID_PREFIXES } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'
import { createBroker, type Broker, type BrokerDeps } from '../src/broker.ts'
import { loadBrokerConfig, type BrokerConfig } from '../src/config.ts'

/** Three seed devices: enough for "its own" and "another's", and only a handful of scrypt runs per test. */
const seed = loadRegistryFile()
export const registry = new DeviceRegistry(seed.devices.slice(0, 3))
export const [deviceA, deviceB] = registry.devices.map((d) => d.id) as [string, string, string]

export interface RunningBroker {
  broker: Broker
  config: BrokerConfig
  url: string
  wsUrl: string | undefined
  mqttPort: number
  /** Set when the broker was given MQTT_TLS_CERT/MQTT_TLS_KEY. */
  tlsPort: number | undefined
  /** Set when the broker was given MQTT_INTERNAL_PORT. */
  internalPort: number | undefined
  secrets: DemoSecrets
  dataDir: string
}

/** A real broker on 127.0.0.1 port 0 (TCP and WebSocket) over a throwaway DATA_DIR; stopped when the test ends. */
export async function startBroker(env: Record<string, string> = {}, deps: BrokerDeps = {}): Promise<RunningBroker> {
  const dir = makeTempDir('mytho-broker-')
  const config = loadBrokerConfig({ DATA_DIR: dir.path, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', ...env })
  const broker = await createBroker(config, { registry, ...deps })
  onTestFinished(async () => {
    await broker.stop()
    dir.cleanup()
  })
  const { mqttPort, wsPort, tlsPort, internalPort } = await broker.start()
  return {
    broker,
    config,
    mqttPort,
    tlsPort,
    internalPort,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    wsUrl: wsPort === undefined ? undefined : `ws://127.0.0.1:${wsPort}/mqtt`,
    secrets: readDemoSecrets(dir.path) ?? { devices: {}, services: {} },
    dataDir: dir.path,
  }
}

/** An MQTT.js client that does not reconnect by itself, ended when the test ends. */
export async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ...ownClientId(opts), ...opts }, false)
  onTestFinished(() => client.endAsync(true))
  return client
}

/** A device connects with its own id as client id (the broker refuses any other: packages/schema/src/client-ids.ts). */
export const connectDevice = (b: RunningBroker, deviceId: string, opts: IClientOptions = {}) =>
  connect(b.url, { clientId: deviceId, username: deviceId, password: b.secrets.devices[deviceId]!, ...opts })

let serviceConnections = 0
/**
 * Without a client id a client connects as its credential must (packages/schema/src/client-ids.ts): a device as its
 * id, a service account in its range. MQTT.js would otherwise pick `mqttjs_…`, which the broker refuses.
 */
function ownClientId(opts: IClientOptions): IClientOptions {
  if (opts.clientId !== undefined || opts.username === undefined) return {}
  const prefix = SERVICE_CLIENT_ID_PREFIXES[opts.username]
  return { clientId: prefix !== undefined ? `${prefix}-t${++serviceConnections}` : opts.username }
}
/** A service account with a client id in its own range (`mytho-ingest-t1`, `mytho-api-t2`). */
export const connectService = (b: RunningBroker, name: 'ingest' | 'api', opts: IClientOptions = {}) =>
  connect(b.url, {
    clientId: `mytho-${name}-t${++serviceConnections}`,
    username: SERVICE_ACCOUNTS[name],
    password: b.secrets.services[SERVICE_ACCOUNTS[name]]!,
    ...opts,
  })

/** The CONNACK return code of a refused connection (MQTT.js rejects with it as `code`). */
export async function refusalCode(url: string, opts: IClientOptions): Promise<number> {
  try {
    const client = await connect(url, opts)
    await client.endAsync(true)
  } catch (err) {
    return (err as { code: number }).code
  }
  throw new Error('connection was accepted')
}

export interface Received {
  topic: string
  payload: string
  retain: boolean
  qos: number
}

/** Collects every message a client receives. */
export function collect(client: MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }))
  return got
}

/** svc-ingest subscribed to every device's readings and status, with what it receives. */
export async function ingestListener(b: RunningBroker): Promise<Received[]> {
  const ingest = await connectService(b, 'ingest')
  const got = collect(ingest)
  await ingest.subscribeAsync(['mytho/v1/devices/+/readings', 'mytho/v1/devices/+/status'], { qos: 1 })
  return got
}

/**
 * A raw TCP connection for what MQTT.js will not send (bad UTF-8, oversized headers, empty client ids).
 * Keeps everything the broker sends in `received`; `closed` resolves when the broker drops it.
 */
export interface RawConnection {
  socket: Socket
  received: () => Buffer
  packets: () => mqttPacket.Packet[]
  closed: Promise<void>
  isClosed: () => boolean
  send: (packet: mqttPacket.Packet | Buffer) => void
}

export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = netConnect(port, '127.0.0.1')
  socket.on('error', () => {}) // EPIPE/ECONNRESET once the broker closes: expected here
  onTestFinished(() => void socket.destroy())
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  const parsed: mqttPacket.Packet[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (p) => parsed.push(p))
  socket.on('data', (d: Buffer) => {
    chunks.push(d)
    parser.parse(d)
  })
  let isClosed = false
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true
      resolve()
    }),
  )
  return {
    socket,
    received: () => Buffer.concat(chunks),
    packets: () => parsed,
    closed,
    isClosed: () => isClosed,
    send: (p) => void socket.write(Buffer.isBuffer(p) ? p : mqttPacket.generate(p)),
  }
}

/** A raw connection that has sent CONNECT and got CONNACK 0. */
export async function rawSession(b: RunningBroker, deviceId: string): Promise<RawConnection> {
  const raw = await rawConnect(b.mqttPort)
  raw.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: `${deviceId}.raw`,
    clean: true,
    keepalive: 60,
    username: deviceId,
    password: Buffer.from(b.secrets.devices[deviceId]!),
  })
  const connack = await waitFor(() => raw.packets().find((p) => p.cmd === 'connack'), { what: 'CONNACK' })
  if (connack.cmd !== 'connack' || connack.returnCode !== 0) throw new Error(`CONNACK ${JSON.stringify(connack)}`)
  return raw
}

/** Bytes of an MQTT string (length-prefixed), from raw bytes so tests can send what is not UTF-8. */
export const mqttString = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])

/** A PUBLISH QoS 0 built by hand around raw topic bytes. */
export function rawPublish(topic: Buffer, payload: Buffer = Buffer.from('x')): Buffer {
  const body = Buffer.concat([mqttString(topic), payload])
  return Buffer.concat([Buffer.from([0x30]), varint(body.length), body])
}

export function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}

/** The SUBACK return codes for `filters` (MQTT.js rejects a SUBACK with any 0x80; the codes are on the error). */
export async function subscribeCodes(client: MqttClient, filters: string[], qos: 0 | 1 | 2 = 0): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos })
    return granted.map((g) => g.qos)
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted
    if (!granted) throw err
    return granted
  }
}

/** Resolves when the broker (or anyone) closes the client's connection. */
export const untilClosed = (client: MqttClient): Promise<void> => new Promise((resolve) => client.once('close', () => resolve()))
