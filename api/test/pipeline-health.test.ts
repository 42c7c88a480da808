import { join } from 'node:path'
import mqtt from 'mqtt'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { createIngest, loadIngestConfig, type Ingest } from '@mytho/ingest'
import {
  loadRegistryFile,
  PLATFORM_HEALTH_TOPIC,
  readingsTopic,
  type ClientToServerEvents,
  type PipelineHealth,
  type ReadyResponse,
  type ServerToClientEvents,
} from '@mytho/schema'
import { readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { createInfluxStore, createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir, startInfluxd, waitFor, type Influxd } from '@mytho/testing'
import { createApi, type Api } from '../src/api.ts'

const GAUGE = 'wl-my-phong-riverside'

/*
 * A real InfluxDB outage under the ingest (influxd paused): the ingest spools and announces `degraded` on
 * mytho/v1/platform/health; the API's feed takes it, /ready reports it without becoming unready, and a
 * browser's socket gets a `pipeline` event. The API reads its own SQLite file here so that /ready's storage
 * check stays green and the assertion isolates the pipeline field (in production both share InfluxDB, and
 * /ready's storage check would fail as well).
 */
describe('pipeline health from the ingest to /ready and the browsers', () => {
  const dir = makeTempDir('mytho-api-pipeline-')
  let influxd: Influxd
  let broker: Broker
  let influxStore: ReadingStore
  let apiStore: ReadingStore
  let ingest: Ingest
  let api: Api
  let url: string
  let mqttUrl: string
  let secrets: DemoSecrets
  let socket: Socket<ServerToClientEvents, ClientToServerEvents>
  const received: PipelineHealth[] = []
  const ready = async () => (await (await fetch(`${url}/api/v1/ready`)).json()) as ReadyResponse

  beforeAll(async () => {
    influxd = await startInfluxd()
    broker = await createBroker(loadBrokerConfig({ DATA_DIR: dir.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), { logger: silentLogger })
    mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    secrets = readDemoSecrets(dir.path)!
    influxStore = createInfluxStore({ url: influxd.url, database: 'mytho', timeoutMs: 1_000 })
    ingest = createIngest(
      loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: dir.path, INGEST_BATCH_WAIT_MS: '10', ALERTS_ENABLED: 'false', INGEST_HEALTH_INTERVAL_MS: '300' }),
      {
        store: influxStore,
        registry: loadRegistryFile(),
        logger: silentLogger,
      },
    )
    await ingest.start()
    apiStore = createSqliteStore({ path: join(dir.path, 'api-readings.sqlite') })
    api = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: mqttUrl, DATA_DIR: dir.path },
      { store: apiStore, registry: loadRegistryFile(), logger: silentLogger },
    )
    url = `http://127.0.0.1:${(await api.start()).port}`
    socket = io(url, { path: '/socket.io', transports: ['websocket'] })
    socket.on('pipeline', (h) => received.push(h))
  })
  afterAll(async () => {
    socket?.close()
    await api?.stop()
    await ingest?.stop()
    await apiStore?.close()
    await influxStore?.close()
    await broker?.stop()
    await influxd?.stop()
    dir.cleanup()
  })

  it('reports ok, then degraded with the spool depth during an InfluxDB outage (still ready), then ok again', async () => {
    await waitFor(() => received.at(-1)?.status === 'ok', { what: 'the first (ok) pipeline event on the socket' })
    expect((await ready()).pipeline).toMatchObject({ service: 'ingest', status: 'ok', storage: { up: true } })

    await influxd.pause()
    const device = await mqtt.connectAsync(mqttUrl, { clientId: GAUGE, username: GAUGE, password: secrets.devices[GAUGE]!, reconnectPeriod: 0 })
    const now = Date.now()
    await device.publishAsync(
      readingsTopic(GAUGE),
      JSON.stringify([
        { kind: 'water_level', ts: now - 1000, waterLevelCm: 90 },
        { kind: 'water_level', ts: now, waterLevelCm: 91 },
      ]),
      { qos: 1 },
    )
    await device.endAsync()

    const degraded = await waitFor(() => received.find((h) => h.status === 'degraded' && h.spool.depth > 0), {
      timeoutMs: 15_000,
      what: 'a degraded pipeline event',
    })
    expect(degraded).toMatchObject({ storage: { up: false }, spool: { depth: 2 } })
    const res = await fetch(`${url}/api/v1/ready`)
    // a late pipeline is reported, but this API still serves: it stays ready
    expect(res.status).toBe(200)
    expect((await res.json()) as ReadyResponse).toMatchObject({
      status: 'ready',
      storage: 'ok',
      feed: 'connected',
      hydrated: true,
      pipeline: { status: 'degraded', spool: { depth: 2 } },
    })
    // the ingest repeats its health every 300 ms; the browsers are told only of changes
    const sent = received.length
    await waitFor(() => (api.feed!.stats.health >= 10 ? true : undefined), { what: 'more health messages' })
    expect(received.length - sent).toBeLessThanOrEqual(1)

    await influxd.resume()
    await waitFor(() => received.at(-1)?.status === 'ok', { timeoutMs: 20_000, what: 'the pipeline back to ok on the socket' })
    expect((await ready()).pipeline).toMatchObject({ status: 'ok', spool: { depth: 0 } })
  })

  it('counts and ignores a malformed health message (the last good one stays)', async () => {
    const svc = await mqtt.connectAsync(mqttUrl, {
      clientId: 'mytho-ingest-test',
      username: 'svc-ingest',
      password: secrets.services['svc-ingest']!,
      reconnectPeriod: 0,
    })
    const bad = api.feed!.stats.badHealth
    await svc.publishAsync(PLATFORM_HEALTH_TOPIC, JSON.stringify({ service: 'ingest', status: 'on fire' }), { qos: 1 })
    await svc.endAsync()
    await waitFor(() => (api.feed!.stats.badHealth === bad + 1 ? true : undefined), { what: 'the bad health message counted' })
    expect((await ready()).pipeline).toMatchObject({ service: 'ingest', status: 'ok' })
    expect(received.at(-1)?.status).toBe('ok')
  })
})
