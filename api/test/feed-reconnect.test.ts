import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { CITY_BOUNDS, loadRegistryFile, PLATFORM_READINGS_TOPIC, type StoredReading } from '@mytho/schema'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir, waitFor } from '@mytho/testing'
import { createApi } from '../src/api.ts'
import { LiveClient } from './live-harness.ts'

const reading = (cm: number): StoredReading => ({
  deviceId: 'wl-tourist-wharf',
  kind: 'water_level',
  ward: 'my-tho',
  ts: Date.now(),
  tsSource: 'device',
  receivedAt: Date.now(),
  fields: { waterLevelCm: cm },
})

describe("the API's own broker link", () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })

  const broker = async (dataDir: string, port = 0): Promise<{ broker: Broker; port: number }> => {
    const b = await createBroker(loadBrokerConfig({ DATA_DIR: dataDir, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
      logger: silentLogger,
    })
    const { mqttPort } = await b.start()
    cleanups.unshift(() => b.stop())
    return { broker: b, port: mqttPort }
  }

  it('tells browsers the feed dropped, reports not ready, and catches up from storage when it is back', async () => {
    const tmp = makeTempDir('mytho-api-feed-')
    cleanups.push(() => tmp.cleanup())
    const first = await broker(tmp.path)
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    cleanups.unshift(() => store.close())
    const api = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: `mqtt://127.0.0.1:${first.port}`, DATA_DIR: tmp.path },
      { store, registry: loadRegistryFile(), logger: silentLogger },
    )
    const url = `http://127.0.0.1:${(await api.start()).port}`
    cleanups.unshift(() => api.stop())
    const b = new LiveClient(url, { bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north], zoom: 13 })
    cleanups.unshift(() => b.close())
    await b.waitForSnapshots(1)
    expect(b.feed).toEqual([expect.objectContaining({ connected: true })])

    await first.broker.stop()
    await waitFor(() => b.feed.at(-1)?.connected === false, { what: 'feed down pushed to the browser' })
    const ready = await fetch(`${url}/api/v1/ready`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ status: 'not_ready', feed: 'disconnected' })

    // Stored while the API could not hear the announcement (QoS 0: nobody keeps it for us).
    await store.writeReadings([reading(158)])
    await broker(tmp.path, first.port)
    await waitFor(() => b.feed.at(-1)?.connected === true, { what: 'feed up again', timeoutMs: 15_000 })
    const u = await b.waitForUpdate('wl-tourist-wharf')
    expect(u).toMatchObject({ status: 'warning', lastReading: { fields: { waterLevelCm: 158 } } })
    expect((await fetch(`${url}/api/v1/ready`)).status).toBe(200)
  })

  it('counts and ignores a bad platform message instead of failing', async () => {
    const tmp = makeTempDir('mytho-api-feed-bad-')
    cleanups.push(() => tmp.cleanup())
    const { port } = await broker(tmp.path)
    const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    cleanups.unshift(() => store.close())
    const api = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', MQTT_URL: `mqtt://127.0.0.1:${port}`, DATA_DIR: tmp.path },
      { store, registry: loadRegistryFile(), logger: silentLogger },
    )
    await api.start()
    cleanups.unshift(() => api.stop())
    const ingestAccount = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'mytho-ingest-feed-test',
      username: 'svc-ingest',
      password: readDemoSecrets(tmp.path)!.services['svc-ingest']!,
      reconnectPeriod: 0,
    })
    cleanups.unshift(() => ingestAccount.endAsync(true))
    await ingestAccount.publishAsync(PLATFORM_READINGS_TOPIC, '{not json')
    await ingestAccount.publishAsync(PLATFORM_READINGS_TOPIC, JSON.stringify([{ deviceId: 'wl-tourist-wharf', kind: 'boat' }]))
    await ingestAccount.publishAsync(PLATFORM_READINGS_TOPIC, JSON.stringify([reading(120)]))
    await waitFor(() => api.state.get('wl-tourist-wharf')?.lastReading, { what: 'the good message applied' })
    expect(api.feed?.stats).toMatchObject({ bad: 2, readings: 1 })
  })
})
