import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { openOperatorStore } from '@mytho/directory'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { loadRegistryFile, type Incident } from '@mytho/schema'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { io } from 'socket.io-client'
import { createApi, type Api } from '../src/api.ts'
import { LiveClient } from './live-harness.ts'

/*
 * Two API nodes on a two-node broker cluster and one real redis-server (REDIS_URL for all four), the ingest on
 * broker A, API A on broker A, API B on broker B, everything sharing one DATA_DIR as compose's nodes share the
 * volume. Each API node follows the platform topics itself; only what one node does on a request (an
 * acknowledgement) crosses the Socket.IO Redis adapter.
 */
describe('API cluster on Redis', () => {
  const tmp = makeTempDir('mytho-api-cluster-')
  const registry = loadRegistryFile()
  const cleanups: (() => Promise<void> | void)[] = []
  let redis: RedisServer
  let urlA: string
  let urlB: string
  let brokerBUrl: string
  let apiA: Api
  let apiB: Api
  const cityView = { bbox: [106.28, 10.3, 106.44, 10.42] as [number, number, number, number], zoom: 13 }

  const startBroker = async (): Promise<string> => {
    const b: Broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory', REDIS_URL: redis.url }),
      { logger: silentLogger },
    )
    const { mqttPort } = await b.start()
    cleanups.unshift(() => b.stop())
    return `mqtt://127.0.0.1:${mqttPort}`
  }
  const startApi = async (mqttUrl: string): Promise<[Api, string]> => {
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    const api = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: mqttUrl, DATA_DIR: tmp.path, REDIS_URL: redis.url },
      { store, registry, logger: silentLogger },
    )
    const { port } = await api.start()
    cleanups.unshift(async () => {
      await api.stop()
      store.close()
    })
    return [api, `http://127.0.0.1:${port}`]
  }
  const browser = (url: string): LiveClient => {
    const b = new LiveClient(url, cityView)
    cleanups.unshift(() => b.close())
    return b
  }
  const device = async (deviceId: string) => {
    const c = await connectDevice(brokerBUrl, deviceId, readDemoSecrets(tmp.path)!.devices[deviceId]!)
    cleanups.unshift(() => c.endAsync(true))
    return c
  }

  beforeAll(async () => {
    redis = await startRedisServer()
    const brokerAUrl = await startBroker()
    brokerBUrl = await startBroker()
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    // The ingest writes incidents where the API nodes read them: the cluster's Redis.
    const ingest = createIngest(loadIngestConfig({ MQTT_URL: brokerAUrl, DATA_DIR: tmp.path, REDIS_URL: redis.url, INGEST_BATCH_WAIT_MS: '10' }), {
      store,
      registry,
      logger: silentLogger,
    })
    await ingest.start()
    cleanups.unshift(async () => {
      await ingest.stop()
      store.close()
    })
    ;[apiA, urlA] = await startApi(brokerAUrl)
    ;[apiB, urlB] = await startApi(brokerBUrl)
  })
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c()
    await redis?.stop()
    tmp.cleanup()
  })

  it('each node keeps the whole latest state from the broker: a reading reaches browsers on both nodes, once each', async () => {
    const id = 'wl-hydro-station'
    const [onA, onB] = [browser(urlA), browser(urlB)]
    await onA.waitForSnapshots(1)
    await onB.waitForSnapshots(1)
    const dev = await device(id)
    const ts = Date.now() - 1_000
    await publishReading(dev, id, { kind: 'water_level', ts, seq: 1, waterLevelCm: 131.5 })
    for (const b of [onA, onB]) await b.waitForUpdate(id, (d) => d.lastReading?.ts === ts, `the reading on ${b === onA ? 'API A' : 'API B'}`)
    for (const url of [urlA, urlB]) {
      const res = await fetch(`${url}/api/v1/devices/${id}`)
      expect(((await res.json()) as { lastReading: { ts: number } }).lastReading.ts).toBe(ts)
    }
    // Nothing of the live stream crosses Redis: one flush later, still one entry per browser for this reading.
    await new Promise((r) => setTimeout(r, 200))
    expect(onA.updatesOf(id).filter((d) => d.lastReading?.ts === ts)).toHaveLength(1)
    expect(onB.updatesOf(id).filter((d) => d.lastReading?.ts === ts)).toHaveLength(1)
    expect(apiA.state.get(id)?.lastReading?.ts).toBe(ts)
    expect(apiB.state.get(id)?.lastReading?.ts).toBe(ts)
  })

  it('an incident raised by the ingest reaches both nodes once; an acknowledgement made on API A reaches a browser on API B', async () => {
    const id = 'wl-my-phong-riverside'
    const [onA, onB] = [browser(urlA), browser(urlB)]
    await onA.waitForSnapshots(1)
    await onB.waitForSnapshots(1)
    const dev = await device(id)
    const t = Date.now()
    await publishReading(dev, id, [
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 152 },
      { kind: 'water_level', ts: t - 1000, waterLevelCm: 153 },
    ])
    for (const b of [onA, onB]) await waitFor(() => b.incidentChanges.find((c) => c.incident.subject === id), { what: 'the raised incident on both nodes' })
    const [inc] = (await (await fetch(`${urlB}/api/v1/incidents?deviceId=${id}`)).json()) as Incident[]

    const ack = await fetch(`${urlA}/api/v1/incidents/${inc!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'Trần Văn Minh', note: 'Đã cử đội trực đê' }),
    })
    expect(ack.status).toBe(200)
    const acked = (b: LiveClient) => b.incidentChanges.filter((c) => c.incident.id === inc!.id && c.event.type === 'acknowledged')
    const pushed = await waitFor(() => acked(onB)[0], { what: 'the acknowledgement on a browser of API B' })
    expect(pushed.event).toMatchObject({ by: 'anonymous@127.0.0.1', claimedBy: 'Trần Văn Minh', note: 'Đã cử đội trực đê' })
    expect(pushed.incident.state).toBe('acknowledged')
    await waitFor(() => acked(onA)[0], { what: 'the acknowledgement on a browser of API A' })
    await new Promise((r) => setTimeout(r, 200))
    for (const b of [onA, onB]) {
      expect(acked(b)).toHaveLength(1)
      expect(b.incidentChanges.filter((c) => c.incident.id === inc!.id && c.event.type === 'raised')).toHaveLength(1)
    }
  })
})

describe('API cluster on Redis, signed in', () => {
  it("a sign-out on API A drops that session's live socket on API B", async () => {
    const tmp = makeTempDir('mytho-api-cluster-auth-')
    const redis = await startRedisServer()
    const stops: (() => Promise<void> | void)[] = [() => tmp.cleanup(), () => redis.stop()]
    try {
      const urls: string[] = []
      for (let i = 0; i < 2; i++) {
        const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
        const operators = openOperatorStore(tmp.path)
        const api = createApi(
          { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', DATA_DIR: tmp.path, REDIS_URL: redis.url },
          { store, registry: loadRegistryFile(), logger: silentLogger, operators },
        )
        const { port } = await api.start()
        stops.unshift(async () => {
          await api.stop()
          store.close()
          operators.close()
        })
        if (i === 0) await operators.create('viewer1', 'correct horse battery staple', 'viewer', Date.now())
        urls.push(`http://127.0.0.1:${port}`)
      }
      const [urlA, urlB] = urls as [string, string]
      const login = await fetch(`${urlA}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'viewer1', password: 'correct horse battery staple' }),
      })
      expect(login.status).toBe(200)
      const { csrfToken } = (await login.json()) as { csrfToken: string }
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ')

      const socket = io(urlB, { path: '/socket.io', transports: ['websocket'], reconnection: false, extraHeaders: { cookie } })
      stops.unshift(() => void socket.close())
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve())
        socket.once('connect_error', reject)
      })
      const ended = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)))
      const logout = await fetch(`${urlA}/api/v1/auth/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } })
      expect(logout.status).toBe(200)
      expect(await ended).toBe('io server disconnect')
    } finally {
      for (const stop of stops) await stop()
    }
  })
})
