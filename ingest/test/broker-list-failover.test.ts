import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { loadRegistryFile, type ClientToServerEvents, type LiveDeviceState, type ServerToClientEvents } from '@mytho/schema'
import { ConfigError, readDemoSecrets, silentLogger } from '@mytho/runtime'
import { freePort, makeTempDir, startInfluxd, startRedisServer, waitFor, type Influxd, type RedisServer } from '@mytho/testing'
import { loadIngestConfig } from '../src/config.ts'
import { createMqttSession } from '../src/mqtt-session.ts'
import { SERVICE_PASSWORDS, signIn, spawnApi, spawnBroker, spawnIngest, type Node } from './cluster-harness.ts'
import { countStored, startLoad } from './fault-load.ts'
import { startWorker } from './partition-harness.ts'

/*
 * MQTT_URL as a list (issue #10): an ingest worker and an API node given both brokers of a cluster move to the
 * live one when the other is SIGKILLed. The devices publish on broker B throughout, so what stops without the
 * list is the ingest's (or the API's) own link to broker A, nothing else.
 */
const TTL = 1500
const cityView = { bbox: [106.28, 10.3, 106.44, 10.42] as [number, number, number, number], zoom: 13 }

describe('MQTT_URL with every broker of the cluster', () => {
  let influxd: Influxd
  beforeAll(async () => {
    influxd = await startInfluxd()
  })
  afterAll(async () => {
    await influxd?.stop()
  })

  // A worker's log line `msg` naming `url`.
  const logged = (output: string, msg: string, url: string) => output.split('\n').some((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"url":"${url}"`))

  /** A fresh Redis and brokers A and B on it, each its own process and DATA_DIR. */
  async function cluster(): Promise<{
    redis: RedisServer
    a: Node
    b: Node
    secrets: NonNullable<ReturnType<typeof readDemoSecrets>>
    dir: (name: string) => string
  }> {
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const dirs = new Map<string, string>()
    const dir = (name: string) => {
      const d = makeTempDir(`mytho-list-${name}-`)
      onTestFinished(() => d.cleanup())
      dirs.set(name, d.path)
      return d.path
    }
    const brokerADir = dir('broker-a')
    const a = await spawnBroker({ REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '1000', DATA_DIR: brokerADir })
    const b = await spawnBroker({ REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '1000', DATA_DIR: dir('broker-b') })
    return { redis, a, b, secrets: readDemoSecrets(brokerADir)!, dir }
  }

  it('takes a list, and names MQTT_URL when an entry is bad', () => {
    expect(loadIngestConfig({ MQTT_URL: ' mqtt://a:1883 , tcp://b:1884' }).MQTT_URL).toBe('mqtt://a:1883,tcp://b:1884')
    expect(loadIngestConfig({}).MQTT_URL).toBe('mqtt://127.0.0.1:1883')
    expect(() => loadIngestConfig({ MQTT_URL: 'mqtt://a:1883,http://b' })).toThrow(ConfigError)
    expect(() => loadIngestConfig({ MQTT_URL: 'mqtt://a:1883,' })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        MQTT_URL: expected mqtt://host:port or a comma-separated list of them]
    `)
  })

  it('an ingest session whose first broker is down at start connects to the next', async () => {
    const tmp = makeTempDir('mytho-list-first-down-')
    onTestFinished(() => tmp.cleanup())
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
      logger: silentLogger,
    })
    onTestFinished(() => broker.stop())
    const { mqttPort } = await broker.start()
    const nobody = await freePort()
    const secrets = readDemoSecrets(tmp.path)!
    const session = createMqttSession(
      {
        url: `mqtt://127.0.0.1:${nobody},mqtt://127.0.0.1:${mqttPort}`,
        clientId: 'mytho-ingest-first-down',
        username: 'svc-ingest',
        password: () => secrets.services['svc-ingest'],
        subscriptions: ['mytho/v1/devices/+/readings'],
      },
      () => {},
      silentLogger,
    )
    onTestFinished(() => session.stop())
    session.start().catch(() => {}) // (rejects only when stopped first)
    await waitFor(() => session.connected, { timeoutMs: 10_000, what: 'the session to subscribe on the second address' })
  })

  it('a partitioned worker given A,B moves to B when A is SIGKILLed; every acknowledged reading is stored once', async () => {
    const { redis, a, b, secrets, dir } = await cluster()
    const w = await startWorker(
      'w-list',
      { mqttUrl: `${a.url},${b.url}`, dataDir: dir('w'), influxUrl: influxd.url, redisUrl: redis.url, partitions: 2, leaseTtlMs: TTL },
      { INGEST_MQTT_PASSWORD: SERVICE_PASSWORDS.INGEST_MQTT_PASSWORD },
    )
    onTestFinished(() => w.kill('SIGKILL'))
    await waitFor(() => w.owned().length === 2, { timeoutMs: 10_000, what: 'the worker to own both partitions' })
    expect(logged(w.output(), 'subscribed', a.url)).toBe(true)

    const load = await startLoad(b.url, secrets, { devices: 8, ratePerDevice: 10 })
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored >= 100 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored through broker A',
    })
    await a.kill('SIGKILL')
    const storedAtKill = (await countStored(influxd.url, load.t0)).stored
    // 8 devices × 10/s: 300 more is several seconds of readings that can only have come through broker B.
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored > storedAtKill + 300 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored after broker A died',
    })
    expect(logged(w.output(), 'subscribed', b.url)).toBe(true)

    const counts = await load.stop(30_000)
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 30_000, what: 'storage to have every acknowledged reading' },
    )
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
    expect(w.owned()).toEqual([0, 1])
  }, 90_000)

  it('an API node given A,B keeps pushing readings to its browsers after A is SIGKILLed', async () => {
    const { redis, a, b, secrets, dir } = await cluster()
    await spawnIngest({ MQTT_URL: b.url, DATA_DIR: dir('ingest'), INFLUX_URL: influxd.url, REDIS_URL: redis.url, ALERTS_ENABLED: 'false' })
    const api = await spawnApi({ MQTT_URL: `${a.url},${b.url}`, DATA_DIR: dir('api'), INFLUX_URL: influxd.url, REDIS_URL: redis.url })
    await waitFor(() => logged(api.output(), 'live feed subscribed', a.url), { timeoutMs: 10_000, what: 'the live feed to subscribe to broker A' })

    const viewer = await signIn(api.url)
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(api.url, {
      path: '/socket.io',
      transports: ['websocket'],
      extraHeaders: { cookie: viewer.cookie },
      auth: { view: cityView },
    })
    onTestFinished(() => void socket.close())
    const updates: LiveDeviceState[] = []
    socket.on('updates', (u) => updates.push(...u))
    await waitFor(() => socket.connected, { timeoutMs: 10_000, what: 'the browser to connect' })

    const load = await startLoad(b.url, secrets, { devices: 4, ratePerDevice: 10 })
    onTestFinished(() =>
      load.stop(10_000).then(
        () => undefined,
        () => undefined,
      ),
    )
    const loadIds = new Set(
      loadRegistryFile()
        .devices.filter((d) => d.kind === 'air_quality' || d.kind === 'water_level')
        .slice(0, 4)
        .map((d) => d.id),
    )
    const latestTs = () => Math.max(0, ...updates.filter((u) => loadIds.has(u.deviceId) && u.lastReading !== null).map((u) => u.lastReading!.ts))
    await waitFor(() => latestTs() > 0, { timeoutMs: 15_000, what: 'a reading pushed through broker A' })

    await a.kill('SIGKILL')
    // The load's ts grow by 1 ms per reading per device, so a ts past everything pushed so far is a reading published
    // after the kill. Twice: the catch-up from storage at the reconnect pushes once, the live stream keeps pushing.
    const atKill = latestTs()
    await waitFor(() => latestTs() > atKill + 20, { timeoutMs: 20_000, what: 'readings pushed after broker A died' })
    const afterMove = latestTs()
    await waitFor(() => latestTs() > afterMove + 20, { timeoutMs: 10_000, what: 'readings still pushed through broker B' })
    expect(logged(api.output(), 'live feed subscribed', b.url)).toBe(true)
  }, 90_000)
})
