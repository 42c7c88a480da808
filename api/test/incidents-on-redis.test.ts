import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { createIngest, loadIngestConfig, type Ingest } from '@mytho/ingest'
import { loadRegistryFile, PLATFORM_INCIDENTS_TOPIC, type Incident, type IncidentChange } from '@mytho/schema'
import { readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { createApi } from '../src/api.ts'

/*
 * Incidents shared through Redis by processes that share no disk: ingest worker A (its own DATA_DIR) raises an
 * incident, an operator acknowledges it through API node B (another DATA_DIR, no broker feed, the same
 * REDIS_URL), and A's next level change keeps the acknowledgement (each side writes only its own fields). What A
 * announces after that change carries the acknowledgement too, as Redis has it.
 */
describe('incidents on Redis across hosts', () => {
  const dirA = makeTempDir('mytho-incidents-host-a-')
  const dirB = makeTempDir('mytho-incidents-host-b-')
  const registry = loadRegistryFile()
  const cleanups: (() => Promise<unknown> | undefined)[] = []
  let redis: RedisServer
  let mqttUrl: string
  let secrets: DemoSecrets
  let ingest: Ingest
  let urlB: string
  const announced: IncidentChange[] = []

  beforeAll(async () => {
    redis = await startRedisServer()
    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: dirA.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
      { logger: silentLogger },
    )
    mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    cleanups.unshift(() => broker.stop())
    secrets = readDemoSecrets(dirA.path)!

    const storeA = createSqliteStore({ path: join(dirA.path, 'readings.sqlite') })
    ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: dirA.path, REDIS_URL: redis.url, INGEST_BATCH_WAIT_MS: '10' }), {
      store: storeA,
      registry,
      logger: silentLogger,
    })
    await ingest.start()
    cleanups.unshift(async () => {
      await ingest.stop()
      storeA.close()
    })

    const storeB = createSqliteStore({ path: join(dirB.path, 'readings.sqlite') })
    const apiB = createApi(
      { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', DATA_DIR: dirB.path, REDIS_URL: redis.url },
      { store: storeB, registry, logger: silentLogger },
    )
    urlB = `http://127.0.0.1:${(await apiB.start()).port}`
    cleanups.unshift(async () => {
      await apiB.stop()
      storeB.close()
    })

    const listener = await mqtt.connectAsync(mqttUrl, {
      clientId: 'mytho-api-listener',
      username: 'svc-api',
      password: secrets.services['svc-api']!,
      reconnectPeriod: 0,
    })
    listener.on('message', (_t, p) => announced.push(JSON.parse(p.toString()) as IncidentChange))
    await listener.subscribeAsync(PLATFORM_INCIDENTS_TOPIC)
    cleanups.unshift(() => listener.endAsync())
  })
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c()
    await redis?.stop()
    dirA.cleanup()
    dirB.cleanup()
  })

  const getB = async <T>(path: string): Promise<T> => (await (await fetch(`${urlB}/api/v1${path}`)).json()) as T

  it("an acknowledgement made on API B survives ingest A's next level change", async () => {
    const id = 'wl-my-phong-riverside'
    const dev = await connectDevice(mqttUrl, id, secrets.devices[id]!)
    const t = Date.now()
    await publishReading(dev, id, [
      { kind: 'water_level', ts: t - 12 * 60_000, waterLevelCm: 142 },
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 143 },
    ])
    const [inc] = await waitFor(
      async () => {
        const list = await getB<Incident[]>(`/incidents?deviceId=${id}`)
        return list.length > 0 ? list : undefined
      },
      { what: 'the incident on API B' },
    )
    expect(inc).toMatchObject({ ruleId: 'flood', level: 1, severity: 'warning', state: 'open' })

    const ack = await fetch(`${urlB}/api/v1/incidents/${inc!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'Trần Văn Minh', note: 'Đã cử đội trực đê' }),
    })
    expect(ack.status).toBe(200)
    expect(((await ack.json()) as Incident).state).toBe('acknowledged')

    // BĐ II: the same severity, so the acknowledgement stands (a worse one would reopen it).
    await publishReading(dev, id, [
      { kind: 'water_level', ts: t - 5 * 60_000, waterLevelCm: 152 },
      { kind: 'water_level', ts: t, waterLevelCm: 153 },
    ])
    const escalated = await waitFor(
      async () => {
        const one = await getB<Incident>(`/incidents/${inc!.id}`)
        return one.level === 2 ? one : undefined
      },
      { what: 'the escalation on API B' },
    )
    // no session: anonymous with its address, the name given kept apart as a claim (issue #15)
    expect(escalated).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'anonymous@127.0.0.1',
      ackNote: 'Đã cử đội trực đê',
      peakLevel: 2,
      lastValue: 153,
    })
    expect(escalated.events[1]).toMatchObject({ by: 'anonymous@127.0.0.1', claimedBy: 'Trần Văn Minh' })
    expect(escalated.events.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'escalated'])
    expect(await getB<Incident[]>(`/incidents?deviceId=${id}&state=acknowledged`)).toHaveLength(1)

    const told = await waitFor(() => announced.find((c) => c.incident.id === inc!.id && c.event.type === 'escalated'), {
      what: "A's announcement of the escalation",
    })
    expect(told.incident).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'anonymous@127.0.0.1', level: 2 })
    await dev.endAsync()
  })
})
