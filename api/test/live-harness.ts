import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { io, type Socket } from 'socket.io-client'
import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { createIngest, loadIngestConfig, type Ingest } from '@mytho/ingest'
import {
  loadRegistryFile,
  type ClientToServerEvents,
  type Incident,
  type IncidentChange,
  type LiveDeviceState,
  type LiveFeedStatus,
  type ServerToClientEvents,
  type ViewSubscription,
} from '@mytho/schema'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, waitFor } from '@mytho/testing'
import { createApi, type Api } from '../src/api.ts'

/** The whole live path as `npm start` wires it: real Aedes on port 0, ingest, SQLite file, API with its feed. */
export async function startLivePlatform(env: { LIVE_FLUSH_MS?: number; ALERT_RULES_FILE?: string } = {}) {
  const tmp = makeTempDir('mytho-api-live-')
  const registry = loadRegistryFile()
  const cleanups: (() => Promise<void> | void)[] = [() => tmp.cleanup()]
  const broker: Broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
    logger: silentLogger,
  })
  const { mqttPort } = await broker.start()
  cleanups.unshift(() => broker.stop())
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
  const secrets = readDemoSecrets(tmp.path)
  if (!secrets) throw new Error('broker did not write demo secrets')

  const store: ReadingStore = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  cleanups.unshift(() => store.close())
  const rulesFile = env.ALERT_RULES_FILE !== undefined ? { ALERT_RULES_FILE: env.ALERT_RULES_FILE } : {}
  const ingest: Ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: tmp.path, INGEST_BATCH_WAIT_MS: '10', ...rulesFile }), {
    store,
    registry,
    logger: silentLogger,
  })
  await ingest.start()
  cleanups.unshift(() => ingest.stop())

  const api: Api = createApi(
    {
      HTTP_PORT: 0,
      HTTP_HOST: '127.0.0.1',
      MQTT_URL: mqttUrl,
      DATA_DIR: tmp.path,
      ...(env.LIVE_FLUSH_MS !== undefined ? { LIVE_FLUSH_MS: env.LIVE_FLUSH_MS } : {}),
      ...rulesFile,
    },
    { store, registry, logger: silentLogger },
  )
  const { port } = await api.start()
  cleanups.unshift(() => api.stop())
  const url = `http://127.0.0.1:${port}`

  return {
    api,
    broker,
    store,
    registry,
    url,
    mqttUrl,
    /** A device as installers configure it: id as user name and client id, its secret, a Last Will `offline`. */
    async device(deviceId: string): Promise<MqttClient> {
      const c = await connectDevice(mqttUrl, deviceId, secrets.devices[deviceId]!)
      cleanups.unshift(() => c.endAsync(true))
      return c
    },
    publish: (c: MqttClient, deviceId: string, body: unknown) => publishReading(c, deviceId, body),
    /** A browser: sends its view on every (re)connect, the way the map does, and records what it receives. */
    browser(view: ViewSubscription): LiveClient {
      const b = new LiveClient(url, view)
      cleanups.unshift(() => b.close())
      return b
    },
    async stop() {
      for (const c of cleanups.splice(0)) await c()
    },
  }
}
export type LivePlatform = Awaited<ReturnType<typeof startLivePlatform>>

export class LiveClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>
  readonly snapshots: LiveDeviceState[][] = []
  readonly updates: LiveDeviceState[][] = []
  readonly feed: LiveFeedStatus[] = []
  readonly acks: unknown[] = []
  readonly incidentSnapshots: Incident[][] = []
  readonly incidentChanges: IncidentChange[] = []

  constructor(url: string, view: ViewSubscription) {
    this.socket = io(url, { path: '/socket.io', transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 })
    this.socket.on('snapshot', (d) => this.snapshots.push(d))
    this.socket.on('updates', (d) => this.updates.push(d))
    this.socket.on('feed', (f) => this.feed.push(f))
    this.socket.on('incidents', (list) => this.incidentSnapshots.push(list))
    this.socket.on('incident', (c) => this.incidentChanges.push(c))
    this.socket.on('connect', () => this.socket.emit('view', view, (r) => this.acks.push(r)))
  }
  /** Every update entry received for one device, oldest first. */
  updatesOf(deviceId: string): LiveDeviceState[] {
    return this.updates.flat().filter((d) => d.deviceId === deviceId)
  }
  waitForUpdate(deviceId: string, pred: (d: LiveDeviceState) => boolean = () => true, what = `an update of ${deviceId}`): Promise<LiveDeviceState> {
    return waitFor(() => this.updatesOf(deviceId).find(pred), { what })
  }
  waitForSnapshots(n: number): Promise<LiveDeviceState[]> {
    return waitFor(() => this.snapshots[n - 1], { what: `snapshot #${n}` })
  }
  close(): void {
    this.socket.close()
  }
}
