import { createServer, type AddressInfo, type Server } from 'node:net'
import { Aedes, type AedesOptions, type Client } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { onTestFinished } from 'vitest'
import { ALL_READINGS_FILTER, ALL_STATUS_FILTER, parseDeviceTopic } from '@mytho/schema'
import { createLogger, type Logger } from '@mytho/runtime'
import { makeTempDir } from '@mytho/testing'
import { type SimulatorConfig, type SimulatorDeps, createSimulator, loadSimConfig } from '../src/index.ts'

export interface TestBroker {
  aedes: Aedes
  server: Server
  url: string
  port: number
  /** Connected broker-side clients by client id (to drop them from the broker's side). */
  clients: Map<string, Client>
  close(): Promise<void>
}

/** A real Aedes broker on 127.0.0.1 (port 0 unless given), closed when the test ends. */
export async function startBroker(opts: AedesOptions = {}, port = 0): Promise<TestBroker> {
  const aedes = await Aedes.createBroker(opts)
  const clients = new Map<string, Client>()
  aedes.on('client', (c) => clients.set(c.id, c))
  aedes.on('clientDisconnect', (c) => {
    if (clients.get(c.id) === c) clients.delete(c.id)
  })
  const server = createServer(aedes.handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  const actual = (server.address() as AddressInfo).port
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= (async () => {
      await new Promise<void>((r) => aedes.close(() => r()))
      await new Promise<void>((r) => server.close(() => r()))
    })())
  onTestFinished(close)
  return { aedes, server, url: `mqtt://127.0.0.1:${actual}`, port: actual, clients, close }
}

export interface Message {
  topic: string
  deviceId: string | undefined
  payload: string
  retain: boolean
}

/** A real MQTT.js subscriber on every device's readings and status; ended when the test ends. */
export async function subscribe(url: string): Promise<{ client: MqttClient; messages: Message[] }> {
  const client = await mqtt.connectAsync(
    url,
    { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, clientId: `watcher-${Math.random().toString(16).slice(2)}` },
    false,
  )
  onTestFinished(() => client.endAsync(true))
  const messages: Message[] = []
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, deviceId: parseDeviceTopic(topic)?.deviceId, payload: payload.toString(), retain: packet.retain }),
  )
  await client.subscribeAsync([ALL_READINGS_FILTER, ALL_STATUS_FILTER], { qos: 1 })
  return { client, messages }
}

/** Log lines a test can assert on; nothing reaches the console. */
export function captureLogs(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  return { logger: createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines }
}

/** A simulator over a throwaway DATA_DIR, from env strings as main.ts would parse them; stopped when the test ends. */
export function simulator(env: Record<string, string>, options: Partial<SimulatorConfig> = {}, deps: SimulatorDeps = {}) {
  const dir = makeTempDir('mytho-sim-')
  const config = { ...loadSimConfig({ DATA_DIR: dir.path, ...env }), statsLogEveryMs: 0, ...options }
  const sim = createSimulator(config, deps)
  onTestFinished(async () => {
    await sim.stop()
    dir.cleanup()
  })
  return sim
}

/** The latest status payload per device in a message log. */
export function latestStatus(messages: readonly Message[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of messages) if (m.topic.endsWith('/status') && m.deviceId) out.set(m.deviceId, m.payload)
  return out
}
