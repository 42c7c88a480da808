import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { loadRegistryFile, type ClientToServerEvents, type Incident, type IncidentChange, type LiveDeviceState, type ServerToClientEvents } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { connectDevice, makeTempDir, publishReading, startInfluxd, startRedisServer, waitFor, type Influxd, type RedisServer } from '@mytho/testing'
import { apiCall, signIn, spawnApi, spawnBroker, type Node } from './cluster-harness.ts'
import { countStored, recordCounts, startLoad } from './fault-load.ts'
import { splitCovers, startWorker, type Worker } from './partition-harness.ts'

/*
 * Issue #10 end to end, as separate hosts would run it: one redis-server and one influxd shared, and every other
 * part twice, each a real process with its own DATA_DIR: brokers A and B, ingest workers W1 and W2 (4 partitions)
 * and API nodes A and B. Every node is given both brokers (MQTT_URL a list): W1 and API A list A first, W2 and API B
 * list B first. Real MQTT.js devices given both brokers' addresses publish QoS 1 readings at a steady rate, starting
 * on A. Browsers on API A and API B see them; broker A is SIGKILLed (its devices, W1 and API A move to B: API A's
 * browser still gets readings), then W1 (W2 takes its partitions). Every reading a device had acknowledged is in
 * InfluxDB once, and an incident raised from a station on broker A is served by API B.
 */
const P = 4
const TTL = 1500
const cityView = { bbox: [106.28, 10.3, 106.44, 10.42] as [number, number, number, number], zoom: 13 }

describe('the platform as a cluster: two of each part on Redis and InfluxDB', () => {
  let redis: RedisServer
  let influxd: Influxd
  beforeAll(async () => {
    ;[redis, influxd] = await Promise.all([startRedisServer(), startInfluxd()])
  })
  afterAll(async () => {
    await influxd?.stop()
    await redis?.stop()
  })

  it('loses and doubles nothing through a broker and an ingest worker SIGKILLed under load; both API nodes keep pushing, API B sees broker A’s devices', async () => {
    const dirs = ['broker-a', 'broker-b', 'api-a', 'api-b', 'ingest-1', 'ingest-2'].map((h) => makeTempDir(`mytho-e2e-${h}-`))
    onTestFinished(() => {
      for (const d of dirs) d.cleanup()
    })
    const [brokerADir, brokerBDir, apiADir, apiBDir, w1Dir, w2Dir] = dirs.map((d) => d.path) as [string, string, string, string, string, string]
    const shared = { REDIS_URL: redis.url, INFLUX_URL: influxd.url }

    // Broker A first: it seeds the fleet's demo secrets into Redis and its DATA_DIR, where the test's devices read them.
    const brokerEnv = { REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '1000' }
    const brokerA = await spawnBroker({ ...brokerEnv, DATA_DIR: brokerADir })
    const brokerB = await spawnBroker({ ...brokerEnv, DATA_DIR: brokerBDir })
    const secrets = readDemoSecrets(brokerADir)!
    const aFirst = `${brokerA.url},${brokerB.url}`
    const bFirst = `${brokerB.url},${brokerA.url}`
    const workerEnv = (mqttUrl: string, dataDir: string) => ({ mqttUrl, dataDir, influxUrl: influxd.url, redisUrl: redis.url, partitions: P, leaseTtlMs: TTL })
    const [apiA, apiB, w1, w2] = (await Promise.all([
      spawnApi({ ...shared, DATA_DIR: apiADir, MQTT_URL: aFirst }),
      spawnApi({ ...shared, DATA_DIR: apiBDir, MQTT_URL: bFirst }),
      ...[
        ['w1', aFirst, w1Dir],
        ['w2', bFirst, w2Dir],
      ].map(async ([id, mqttUrl, dir]) => {
        const w = await startWorker(id!, workerEnv(mqttUrl!, dir!), {
          ALERTS_ENABLED: 'true',
          INGEST_MQTT_PASSWORD: 'ingest-service-password-e2e',
          LOG_LEVEL: 'info',
        })
        onTestFinished(() => w.kill('SIGKILL'))
        return w
      }),
    ])) as [Node, Node, Worker, Worker]
    await waitFor(() => splitCovers([w1, w2], P), { timeoutMs: 4 * TTL + 10_000, what: 'the workers to split the partitions' })

    // A browser on each API node, signed in.
    const viewer = await signIn(apiB.url)
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(apiB.url, {
      path: '/socket.io',
      transports: ['websocket'],
      extraHeaders: { cookie: viewer.cookie },
      auth: { view: cityView },
    })
    onTestFinished(() => void socket.close())
    const updates: LiveDeviceState[] = []
    const incidentChanges: IncidentChange[] = []
    socket.on('updates', (u) => updates.push(...u))
    socket.on('incident', (c) => incidentChanges.push(c))
    await waitFor(() => socket.connected, { timeoutMs: 10_000, what: 'the browser to connect to API B' })
    const viewerA = await signIn(apiA.url)
    const socketA: Socket<ServerToClientEvents, ClientToServerEvents> = io(apiA.url, {
      path: '/socket.io',
      transports: ['websocket'],
      extraHeaders: { cookie: viewerA.cookie },
      auth: { view: cityView },
    })
    onTestFinished(() => void socketA.close())
    const updatesA: LiveDeviceState[] = []
    socketA.on('updates', (u) => updatesA.push(...u))
    await waitFor(() => socketA.connected, { timeoutMs: 10_000, what: 'the browser to connect to API A' })

    const load = await startLoad(brokerA.url, secrets, { devices: 12, ratePerDevice: 10, alsoUrls: [brokerB.url] })
    const loadIds = new Set(
      loadRegistryFile()
        .devices.filter((d) => d.kind === 'air_quality' || d.kind === 'water_level')
        .slice(0, 12)
        .map((d) => d.id),
    )
    const seenOnB = await waitFor(() => updates.find((u) => loadIds.has(u.deviceId) && u.lastReading !== null), {
      timeoutMs: 15_000,
      what: 'a reading of a device on broker A at a browser of API B',
    })
    expect(seenOnB.lastReading!.ts).toBeGreaterThanOrEqual(load.t0)
    // The load's ts grow by 1 ms per reading per device: the latest a browser was pushed says how far it is.
    const latestOnA = () => Math.max(0, ...updatesA.filter((u) => loadIds.has(u.deviceId) && u.lastReading !== null).map((u) => u.lastReading!.ts))
    await waitFor(() => latestOnA() > 0, { timeoutMs: 15_000, what: 'a reading at a browser of API A' })

    // A salinity station on broker A over the 1 g/L fruit-tree level for longer than the rule's 10-minute hold (the
    // load's water levels are an hour old: history, never news for the alert engine).
    const gaugeId = 'sal-lac-hong'
    const gauge = await connectDevice(brokerA.url, gaugeId, secrets.devices[gaugeId]!)
    gauge.on('error', () => {})
    onTestFinished(() => gauge.endAsync(true))
    const t = Date.now()
    await publishReading(gauge, gaugeId, [
      { kind: 'salinity', ts: t - 11 * 60_000, salinityGL: 1.2 },
      { kind: 'salinity', ts: t - 1000, salinityGL: 1.3 },
    ])

    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored >= 300 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored before the kills',
    })
    await brokerA.kill('SIGKILL')
    const brokerKilledAt = Date.now()
    const onAAtKill = latestOnA()
    await waitFor(() => load.reconnected() === 12 && load.connected() === 12, { timeoutMs: 20_000, what: 'broker A’s devices to reconnect to broker B' })
    const movedMs = Date.now() - brokerKilledAt
    // API A's feed was on broker A: readings published after the kill still reach its browser, through B.
    await waitFor(() => latestOnA() > onAAtKill + 50, { timeoutMs: 20_000, what: 'API A to push readings again after broker A died' })
    const storedAfterMove = (await countStored(influxd.url, load.t0)).stored
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored > storedAfterMove + 100 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings through broker B',
    })

    await w1.kill('SIGKILL')
    const workerKilledAt = Date.now()
    await waitFor(() => w2.owned().length === P, { timeoutMs: 4 * TTL + 10_000, what: 'W2 to take every partition' })
    const takeoverMs = Date.now() - workerKilledAt
    const storedAfterTakeover = (await countStored(influxd.url, load.t0)).stored
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored > storedAfterTakeover + 100 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings through W2 alone',
    })

    const counts = await load.stop(30_000)
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 30_000, what: 'storage to have every acknowledged reading' },
    )
    recordCounts('cluster-e2e', { ...counts, stored, distinct, movedMs, takeoverMs })

    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)

    // The incident: in Redis for every API node, and pushed to API B's browser.
    const [incident] = await waitFor(
      async () => {
        const r = await apiCall(apiB.url, viewer, 'GET', `/incidents?deviceId=${gaugeId}`)
        return r.status === 200 && (r.body as Incident[]).length > 0 ? (r.body as Incident[]) : undefined
      },
      { timeoutMs: 15_000, what: 'the salinity incident through API B' },
    )
    expect(incident).toMatchObject({ ruleId: 'salinity', subject: gaugeId, state: 'open' })
    expect(incidentChanges.some((c) => c.incident.id === incident!.id && c.event.type === 'raised')).toBe(true)
    for (const w of [w1, w2]) expect(w.output(), w.id).not.toMatch(/"level":"error"/)
  }, 120_000)
})
