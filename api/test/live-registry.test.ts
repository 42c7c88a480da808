import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { io } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { openProvisionedRegistryFromConfig, type FollowedRegistry } from '@mytho/directory'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { loadRegistryFile, readingsTopic, type DeviceView, type LiveDeviceState, type StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { type Agent, startApiNode as startLiveApiNode } from './live-api-node.ts'

/*
 * The live registry (issue #18): a device provisioned, moved, disabled or enabled through the API reaches the map
 * and the ingest of a running platform, with no restart. Every service opens its own registry from the store, as
 * its own process does (`npm start -w ingest`, `npm start -w api`): none shares the API's objects, so the change has
 * to travel through the store, the registry notice and the re-read.
 */

const CITY = { bbox: [106.2, 10.2, 106.5, 10.5] as [number, number, number, number], zoom: 12 }

const gateway = {
  id: 'gw-rach-gam',
  kind: 'rain',
  nameVi: 'Cổng rạch Gầm',
  nameEn: 'Rach Gam gateway',
  lat: 10.361,
  lon: 106.361,
  ward: 'my-tho',
  intervalS: 60,
  batteryPowered: false,
  locationConfidence: 'C',
}
const gauge = {
  id: 'wl-rach-gam-live',
  kind: 'water_level',
  nameVi: 'Đo mực nước rạch Gầm',
  nameEn: 'Water level Rach Gam',
  lat: 10.36,
  lon: 106.36,
  ward: 'my-tho',
  intervalS: 60,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
  gatewayId: gateway.id,
}

async function startApiNode(...args: Parameters<typeof startLiveApiNode>) {
  const { port, provisioned, signIn, call } = await startLiveApiNode(...args)
  const deviceOnMap = async (who: Agent, id: string) => (await call<DeviceView[]>(who, 'GET', '/devices')).body.find((d) => d.id === id)

  /** A browser on the whole city, signed in: every `updates` entry it receives. */
  const browser = (who: Agent) => {
    const updates: LiveDeviceState[] = []
    const s = io(`http://127.0.0.1:${port}`, { path: '/socket.io', transports: ['websocket'], reconnection: false, extraHeaders: { cookie: who.cookie } })
    onTestFinished(() => void s.close())
    s.on('updates', (list) => updates.push(...list))
    s.on('connect', () => s.emit('view', CITY, () => {}))
    const subscribed = new Promise<void>((resolve) => s.once('snapshot', () => resolve()))
    return { updates, subscribed, of: (id: string) => updates.filter((d) => d.deviceId === id) }
  }
  return { provisioned, signIn, call, deviceOnMap, browser }
}

const connect = (mqttUrl: string, id: string, password: string): Promise<MqttClient> =>
  mqtt.connectAsync(mqttUrl, { clientId: id, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 }).then((c) => {
    onTestFinished(() => c.endAsync(true))
    return c
  })
const refusal = (mqttUrl: string, id: string, password: string) =>
  connect(mqttUrl, id, password).then(
    (c) => c.endAsync().then(() => 0),
    (err: { code: number }) => err.code,
  )

describe('live registry on one host (SQLite): provision, publish, move, disable, no restart', () => {
  it('the new device is stored and on the map at once; moved, the map shows its new place; disabled, its readings are refused', async () => {
    const tmp = makeTempDir('mytho-live-registry-')
    onTestFinished(() => tmp.cleanup())
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
      logger: silentLogger,
    })
    const { mqttPort } = await broker.start()
    onTestFinished(() => broker.stop())
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    onTestFinished(() => store.close())

    // The standalone ingest's own registry, from the store (ingest/src/main.ts).
    const ingestRegistry = await openProvisionedRegistryFromConfig({ DATA_DIR: tmp.path }, loadRegistryFile())
    onTestFinished(() => ingestRegistry.close())
    const ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: tmp.path, INGEST_BATCH_WAIT_MS: '10' }), {
      store,
      registry: ingestRegistry.registry,
      logger: silentLogger,
    })
    await ingest.start()
    onTestFinished(() => ingest.stop())

    const node = await startApiNode({ DATA_DIR: tmp.path }, store, { MQTT_URL: mqttUrl }, true)
    const admin = await node.signIn()
    const map = node.browser(admin)
    await map.subscribed
    expect(await node.deviceOnMap(admin, gauge.id)).toBeUndefined()

    // Provisioned: the map has it before it ever speaks (its marker, never seen), on the browser and in GET /devices.
    const gw = await node.call<{ secret: string }>(admin, 'POST', '/admin/devices', gateway)
    const created = await node.call<{ deviceId: string; secret: string }>(admin, 'POST', '/admin/devices', gauge)
    expect(gw.status).toBe(201)
    expect(created).toMatchObject({ status: 201, body: { deviceId: gauge.id } })
    expect(await node.deviceOnMap(admin, gauge.id)).toMatchObject({ id: gauge.id, lat: gauge.lat, lon: gauge.lon, status: 'never_seen' })
    await waitFor(() => map.of(gauge.id).find((d) => d.status === 'never_seen'), { what: 'the new device on the browser' })

    // It connects with the secret it was given and publishes: stored, not dead-lettered, and live on the map.
    const device = await connect(mqttUrl, gauge.id, created.body.secret)
    const ts = Date.now() - 1000
    await device.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts, waterLevelCm: 88 }), { qos: 1 })
    const stored = await waitFor(async () => (await store.latest([gauge.id]))[0], { what: 'the new device reading stored' })
    expect(stored).toMatchObject({ deviceId: gauge.id, ts })
    expect(await store.deadLetters({ deviceId: gauge.id })).toEqual([])
    await waitFor(() => map.of(gauge.id).find((d) => d.lastReading?.ts === ts), { what: 'the reading on the browser' })
    expect((await node.deviceOnMap(admin, gauge.id))?.lastReading).toMatchObject({ ts })

    // Moved: the answer, GET /devices and the browser all have the new place; the ingest's registry follows.
    const moved = await node.call(admin, 'PATCH', `/admin/devices/${gauge.id}`, { lat: 10.3712, lon: 106.3521, ward: 'dao-thanh' })
    expect(moved).toMatchObject({ status: 200, body: { id: gauge.id, lat: 10.3712, lon: 106.3521 } })
    expect(await node.deviceOnMap(admin, gauge.id)).toMatchObject({ lat: 10.3712, lon: 106.3521 })
    await waitFor(() => map.of(gauge.id).find((d) => d.lat === 10.3712 && d.lon === 106.3521), { what: 'the move on the browser' })
    await waitFor(() => ingestRegistry.registry.get(gauge.id)?.lat === 10.3712 || undefined, { what: 'the move in the ingest', timeoutMs: 15_000 })
    // Bad places are the caller's error, naming the field.
    const outside = await node.call<{ error: string }>(admin, 'PATCH', `/admin/devices/${gauge.id}`, { lat: 48.85, lon: 2.35 })
    expect(outside.status).toBe(400)
    expect(outside.body.error).toContain('lat')
    expect((await node.call(admin, 'PATCH', '/admin/devices/no-such-device', { lat: 10.36, lon: 106.36 })).status).toBe(404)

    // Disabled: its own connection is dropped and refused, and once the ingest has re-read the store (seconds), a
    // reading its gateway forwards for it is a dead letter, not a stored point.
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
    expect(await node.call(admin, 'POST', `/admin/devices/${gauge.id}/disable`)).toMatchObject({ status: 200, body: { disabled: true } })
    await closed
    expect(await refusal(mqttUrl, gauge.id, created.body.secret)).toBe(5)
    await waitFor(() => ingestRegistry.registry.get(gauge.id) === undefined || undefined, {
      what: 'the ingest refusing the disabled device',
      timeoutMs: 15_000,
    })
    const gwClient = await connect(mqttUrl, gateway.id, gw.body.secret)
    const late = Date.now()
    await gwClient.publishAsync(readingsTopic(gateway.id), JSON.stringify({ deviceId: gauge.id, kind: 'water_level', ts: late, waterLevelCm: 91 }), { qos: 1 })
    const refused = await waitFor(async () => (await store.deadLetters({ deviceId: gateway.id })).find((r) => r.code === 'not_gateway'), {
      what: 'the forwarded reading dead-lettered',
    })
    expect(refused.raw).toContain(gauge.id)
    expect(((await store.latest([gauge.id])) as StoredReading[]).map((r) => r.ts)).toEqual([ts])

    // Enabled again: the ingest accepts it within seconds, with the same secret.
    expect((await node.call(admin, 'POST', `/admin/devices/${gauge.id}/enable`)).status).toBe(200)
    await waitFor(() => ingestRegistry.registry.get(gauge.id), { what: 'the ingest accepting the device again', timeoutMs: 15_000 })
    const back = await connect(mqttUrl, gauge.id, created.body.secret)
    const ts2 = Date.now()
    await back.publishAsync(readingsTopic(gauge.id), JSON.stringify({ kind: 'water_level', ts: ts2, waterLevelCm: 90 }), { qos: 1 })
    await waitFor(async () => (await store.latest([gauge.id]))[0]?.ts === ts2 || undefined, { what: 'the re-enabled device reading stored' })
  })
})

/*
 * A cluster: two hosts sharing only Redis, each with a broker and an API node, and an ingest worker's registry as
 * ingest/src/main.ts opens it with REDIS_URL. A device provisioned and moved through API A shows on API B's map and
 * is known to the worker; disabled, the worker forgets it.
 */
describe('live registry across hosts on Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis?.stop())

  const host = async (name: string) => {
    const tmp = makeTempDir(`mytho-live-registry-${name}-`)
    onTestFinished(() => tmp.cleanup())
    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', REDIS_URL: redis.url }),
      { logger: silentLogger },
    )
    const { mqttPort } = await broker.start()
    onTestFinished(() => broker.stop())
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    onTestFinished(() => store.close())
    return { dir: tmp.path, store, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }
  }

  it('API B and an ingest worker see a device provisioned, moved and disabled through API A', async () => {
    const a = await host('a')
    const b = await host('b')
    const nodeA = await startApiNode({ DATA_DIR: a.dir, REDIS_URL: redis.url }, a.store, { MQTT_URL: a.mqttUrl }, true)
    // svc-api's password is the cluster's (broker A seeded it in Redis): host B's API gets it as its env would.
    const svcApi = readDemoSecrets(a.dir)?.services['svc-api']
    const nodeB = await startApiNode(
      { DATA_DIR: b.dir, REDIS_URL: redis.url },
      b.store,
      { MQTT_URL: b.mqttUrl, ...(svcApi ? { API_MQTT_PASSWORD: svcApi } : {}) },
      false,
    )
    const worker: FollowedRegistry = await openProvisionedRegistryFromConfig({ DATA_DIR: b.dir, REDIS_URL: redis.url }, loadRegistryFile())
    onTestFinished(() => worker.close())
    const adminA = await nodeA.signIn()
    const adminB = await nodeB.signIn()
    const mapB = nodeB.browser(adminB)
    await mapB.subscribed

    const cluster = { ...gauge, id: 'wl-rach-gam-cluster', gatewayId: undefined }
    expect((await nodeA.call(adminA, 'POST', '/admin/devices', cluster)).status).toBe(201)
    await waitFor(() => mapB.of(cluster.id)[0], { what: "the new device on API B's browser", timeoutMs: 15_000 })
    expect(await nodeB.deviceOnMap(adminB, cluster.id)).toMatchObject({ lat: cluster.lat, lon: cluster.lon })
    await waitFor(() => worker.registry.get(cluster.id), { what: 'the new device in the ingest worker' })

    expect((await nodeA.call(adminA, 'PATCH', `/admin/devices/${cluster.id}`, { lat: 10.3555, lon: 106.3777 })).status).toBe(200)
    await waitFor(() => mapB.of(cluster.id).find((d) => d.lat === 10.3555 && d.lon === 106.3777), { what: "the move on API B's browser", timeoutMs: 15_000 })
    await waitFor(() => worker.registry.get(cluster.id)?.lon === 106.3777 || undefined, { what: 'the move in the ingest worker', timeoutMs: 15_000 })

    expect((await nodeA.call(adminA, 'POST', `/admin/devices/${cluster.id}/disable`)).status).toBe(200)
    await waitFor(() => worker.registry.get(cluster.id) === undefined || undefined, { what: 'the ingest worker forgetting it', timeoutMs: 15_000 })
    await waitFor(() => nodeB.provisioned.registry.get(cluster.id) === undefined || undefined, { what: 'API B forgetting it', timeoutMs: 15_000 })
  })
})
