import { join } from 'node:path'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import type { ClientToServerEvents, DeviceView, LiveDeviceState, ServerToClientEvents, ViewSubscription } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { type Agent, startApiNode as startLiveApiNode } from './live-api-node.ts'

/*
 * A device an admin disables leaves every open map at once (the `removed` event, city-wide) and GET /devices; enabled
 * again, it comes back in `updates`. Real broker, SQLite directory and store, the API in-process on port 0 with its
 * followed registry, Socket.IO clients as the map's; on Redis, two API nodes that each tell their own browsers.
 */

const CITY: ViewSubscription = { bbox: [106.2, 10.2, 106.5, 10.5], zoom: 12 }
/** A box west of the city, holding none of its devices. */
const ELSEWHERE: ViewSubscription = { bbox: [105.0, 9.0, 105.1, 9.1], zoom: 12 }

const gauge = {
  id: 'wl-removed-live',
  kind: 'water_level',
  nameVi: 'Đo mực nước thử gỡ',
  nameEn: 'Water level removal test',
  lat: 10.362,
  lon: 106.362,
  ward: 'my-tho',
  intervalS: 60,
  batteryPowered: true,
  waterBody: 'canal',
  locationConfidence: 'C',
}

async function startBroker(dir: string, redisUrl?: string) {
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: dir, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }),
    { logger: silentLogger },
  )
  const { mqttPort } = await broker.start()
  onTestFinished(() => broker.stop())
  return `mqtt://127.0.0.1:${mqttPort}`
}

async function startApiNode(...args: Parameters<typeof startLiveApiNode>) {
  const { port, provisioned, signIn, call } = await startLiveApiNode(...args)
  const listed = async (who: Agent) => (await call<DeviceView[]>(who, 'GET', '/devices')).body.map((d) => d.id)

  /** A signed-in browser on `view`: every `updates` entry and every `removed` list it receives. */
  const browser = async (who: Agent, view: ViewSubscription) => {
    const updates: LiveDeviceState[] = []
    const removed: string[][] = []
    const snapshots: LiveDeviceState[][] = []
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(`http://127.0.0.1:${port}`, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: who.cookie },
      auth: { view },
    })
    onTestFinished(() => void s.close())
    s.on('updates', (list) => updates.push(...list))
    s.on('removed', (ids) => removed.push(ids))
    s.on('snapshot', (list) => snapshots.push(list))
    await waitFor(() => snapshots[0], { what: 'the first snapshot' })
    return {
      updates,
      removed,
      snapshots,
      of: (id: string) => updates.filter((d) => d.deviceId === id),
      removals: (id: string) => removed.filter((ids) => ids.includes(id)).length,
    }
  }
  return { provisioned, signIn, call, listed, browser }
}

describe('a disabled device leaves every open map', () => {
  it('disabling sends `removed` to every browser (in view or not) and drops it from GET /devices; enabling brings it back in `updates`', async () => {
    const tmp = makeTempDir('mytho-live-removed-')
    onTestFinished(() => tmp.cleanup())
    const mqttUrl = await startBroker(tmp.path)
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    onTestFinished(() => store.close())
    const node = await startApiNode({ DATA_DIR: tmp.path }, store, { MQTT_URL: mqttUrl })
    const admin = await node.signIn()
    const city = await node.browser(admin, CITY)
    const away = await node.browser(admin, ELSEWHERE)

    expect((await node.call(admin, 'POST', '/admin/devices', gauge)).status).toBe(201)
    await waitFor(() => city.of(gauge.id)[0], { what: 'the new device on the city map' })
    expect(await node.listed(admin)).toContain(gauge.id)

    expect(await node.call(admin, 'POST', `/admin/devices/${gauge.id}/disable`)).toMatchObject({ status: 200, body: { disabled: true } })
    // the answer comes after this node re-read its registry: GET /devices has already dropped it
    expect(await node.listed(admin)).not.toContain(gauge.id)
    expect((await node.call(admin, 'GET', `/devices/${gauge.id}`)).status).toBe(404)
    await waitFor(() => city.removals(gauge.id) || undefined, { what: '`removed` on the city map' })
    // city-wide: a browser viewing elsewhere may hold it in a list or a popup
    await waitFor(() => away.removals(gauge.id) || undefined, { what: '`removed` on a map viewing elsewhere' })
    expect(away.of(gauge.id)).toEqual([])
    // a map opened now does not get it in its snapshot
    const late = await node.browser(admin, CITY)
    expect(late.snapshots[0]!.map((d) => d.deviceId)).not.toContain(gauge.id)
    expect(late.snapshots[0]!.length).toBeGreaterThan(0)

    const before = city.of(gauge.id).length
    expect(await node.call(admin, 'POST', `/admin/devices/${gauge.id}/enable`)).toMatchObject({ status: 200, body: { disabled: false } })
    const back = await waitFor(() => city.of(gauge.id)[before], { what: 'the enabled device back on the city map' })
    expect(back).toMatchObject({ deviceId: gauge.id, lat: gauge.lat, lon: gauge.lon })
    await waitFor(() => late.of(gauge.id)[0], { what: 'the enabled device on the map opened while it was disabled' })
    expect(await node.listed(admin)).toContain(gauge.id)
    // told once, and nothing of it sent to the map that does not view it
    expect(city.removals(gauge.id)).toBe(1)
    expect(away.of(gauge.id)).toEqual([])
  })
})

describe('a disabled device leaves the maps of every API node (Redis)', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis?.stop())

  it("API B follows the registry itself and tells its own browsers, once, when API A's admin disables a device", async () => {
    const hostA = makeTempDir('mytho-live-removed-a-')
    onTestFinished(() => hostA.cleanup())
    const hostB = makeTempDir('mytho-live-removed-b-')
    onTestFinished(() => hostB.cleanup())
    const mqttA = await startBroker(hostA.path, redis.url)
    const mqttB = await startBroker(hostB.path, redis.url)
    const storeA = createSqliteStore({ path: join(hostA.path, 'readings.sqlite') })
    onTestFinished(() => storeA.close())
    const storeB = createSqliteStore({ path: join(hostB.path, 'readings.sqlite') })
    onTestFinished(() => storeB.close())
    const nodeA = await startApiNode({ DATA_DIR: hostA.path, REDIS_URL: redis.url }, storeA, { MQTT_URL: mqttA })
    const svcApi = readDemoSecrets(hostA.path)?.services['svc-api']
    const nodeB = await startApiNode(
      { DATA_DIR: hostB.path, REDIS_URL: redis.url },
      storeB,
      { MQTT_URL: mqttB, ...(svcApi ? { API_MQTT_PASSWORD: svcApi } : {}) },
      false,
    )
    const adminA = await nodeA.signIn()
    const adminB = await nodeB.signIn()
    const mapA = await nodeA.browser(adminA, CITY)
    const mapB = await nodeB.browser(adminB, CITY)

    const device = { ...gauge, id: 'wl-removed-cluster' }
    expect((await nodeA.call(adminA, 'POST', '/admin/devices', device)).status).toBe(201)
    await waitFor(() => mapB.of(device.id)[0], { what: "the new device on API B's map", timeoutMs: 15_000 })

    expect((await nodeA.call(adminA, 'POST', `/admin/devices/${device.id}/disable`)).status).toBe(200)
    await waitFor(() => mapB.removals(device.id) || undefined, { what: "`removed` on API B's map", timeoutMs: 15_000 })
    await waitFor(() => mapA.removals(device.id) || undefined, { what: "`removed` on API A's map" })
    expect(await nodeB.listed(adminB)).not.toContain(device.id)

    const before = mapB.of(device.id).length
    expect((await nodeA.call(adminA, 'POST', `/admin/devices/${device.id}/enable`)).status).toBe(200)
    await waitFor(() => mapB.of(device.id)[before], { what: "the enabled device back on API B's map", timeoutMs: 15_000 })
    expect(await nodeB.listed(adminB)).toContain(device.id)
    // each node told its own browsers once: nothing went through the Redis adapter to be told twice
    expect(mapA.removals(device.id)).toBe(1)
    expect(mapB.removals(device.id)).toBe(1)
  })
})
