import mqtt from 'mqtt'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SERVICE_ACCOUNTS } from '@mytho/runtime'
import { readingsTopic, statusTopic } from '@mytho/schema'
import { freePort, makeTempDir, startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { collect, connect, deviceA, deviceB } from './harness.ts'
import { flushRedis, secretsOf, spawnNode, startNode } from './cluster-harness.ts'

/*
 * Two broker nodes on one real redis-server (REDIS_URL): mqemitter-redis carries publishes between them,
 * aedes-persistence-redis holds sessions, QoS 1 queues, retained messages and wills.
 */
describe('broker cluster on Redis', () => {
  let redis: RedisServer
  const dir = makeTempDir('mytho-cluster-')
  const ingestUser = SERVICE_ACCOUNTS.ingest

  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(async () => {
    await redis?.stop()
    dir.cleanup()
  })
  beforeEach(() => flushRedis(redis.url))

  const twoNodes = async () => {
    const a = await startNode(dir.path, redis.url)
    const b = await startNode(dir.path, redis.url)
    return { a, b, secrets: secretsOf(dir.path) }
  }

  it('a QoS 1 reading published on node A reaches a persistent subscriber on node B', async () => {
    const { a, b, secrets } = await twoNodes()
    const ingest = await connect(b.url, { clientId: 'mytho-ingest-x', clean: false, username: ingestUser, password: secrets.services[ingestUser]! })
    const got = collect(ingest)
    await ingest.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
    const device = await connect(a.url, { username: deviceA, password: secrets.devices[deviceA]! })
    const body = JSON.stringify({ kind: 'water_level', ts: Date.now() - 1000, waterLevelCm: 151.5 })
    await device.publishAsync(readingsTopic(deviceA), body, { qos: 1 })
    const msg = await waitFor(() => got.find((m) => m.topic === readingsTopic(deviceA)), { what: 'the reading on node B' })
    expect(msg.qos).toBe(1)
    expect(JSON.parse(msg.payload)).toMatchObject({ kind: 'water_level', waterLevelCm: 151.5 })
  })

  it("keeps a persistent subscriber's QoS 1 queue (more than 1,000 messages) when it reconnects to the other node", async () => {
    const { a, b, secrets } = await twoNodes()
    const login = { clientId: 'mytho-ingest-queue', clean: false, username: ingestUser, password: secrets.services[ingestUser]! }
    const first = await connect(b.url, login)
    await first.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
    await first.endAsync()

    // Queued while the subscriber is away: acknowledged to the device by node A, so in Redis.
    const device = await connect(a.url, { username: deviceA, password: secrets.devices[deviceA]! })
    const t0 = Date.now() - 3_600_000
    const n = 1_200
    await Promise.all(
      Array.from({ length: n }, (_, seq) =>
        device.publishAsync(readingsTopic(deviceA), JSON.stringify({ kind: 'water_level', ts: t0 + seq, seq, waterLevelCm: 150 }), { qos: 1 }),
      ),
    )

    const again = mqtt.connect(a.url, { ...login, reconnectPeriod: 0, protocolVersion: 4 })
    const got = collect(again)
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      again.once('connect', resolve)
      again.once('error', reject)
    })
    try {
      expect(connack.sessionPresent).toBe(true)
      await waitFor(() => got.length >= n || undefined, { timeoutMs: 20_000, what: `${n} queued readings on node A (got ${got.length})` })
      const seqs = new Set(got.map((m) => (JSON.parse(m.payload) as { seq: number }).seq))
      expect(seqs.size).toBe(n)
      expect(got.every((m) => m.qos === 1)).toBe(true)
      // Acknowledged, so gone from Redis: the queue list and every queued packet.
      const r = new Redis(redis.url)
      try {
        await waitFor(async () => (await r.llen('outgoing:ingest-queue')) === 0 || undefined, { what: 'the queue list emptied' })
        await waitFor(async () => (await r.keys('packet:*')).length === 0 || undefined, { what: 'the queued packets deleted' })
      } finally {
        r.disconnect()
      }
    } finally {
      await again.endAsync(true)
    }
  })

  it('sends the PUBACK of a QoS 1 reading only once it is queued in Redis, not before (Aedes 1.2 acknowledges first)', async () => {
    const { a, b, secrets } = await twoNodes()
    const ingest = await connect(b.url, { clientId: 'mytho-ingest-pause', clean: false, username: ingestUser, password: secrets.services[ingestUser]! })
    const got = collect(ingest)
    await ingest.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
    const device = await connect(a.url, { username: deviceA, password: secrets.devices[deviceA]! })
    // Redis holds every write for a second, as it would behind a long command queue or a slow disk: node A
    // cannot queue the reading for the ingest yet, so a PUBACK now would be a promise it could not keep if killed.
    const pause = new Redis(redis.url)
    await pause.client('PAUSE', 1_000, 'WRITE')
    pause.disconnect()
    const t0 = Date.now()
    await device.publishAsync(readingsTopic(deviceA), JSON.stringify({ kind: 'water_level', ts: t0 - 1000, waterLevelCm: 140 }), { qos: 1 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800)
    await waitFor(() => got.find((m) => m.topic === readingsTopic(deviceA)), { what: 'the reading on node B' })
  })

  it('shows a retained message published on one node to subscribers of both', async () => {
    const { a, b, secrets } = await twoNodes()
    const device = await connect(a.url, { username: deviceB, password: secrets.devices[deviceB]! })
    await device.publishAsync(statusTopic(deviceB), 'online', { qos: 1, retain: true })
    for (const node of [a, b]) {
      const api = await connect(node.url, { username: SERVICE_ACCOUNTS.api, password: secrets.services[SERVICE_ACCOUNTS.api]! })
      const got = collect(api)
      await api.subscribeAsync('mytho/v1/devices/+/status', { qos: 1 })
      const msg = await waitFor(() => got.find((m) => m.topic === statusTopic(deviceB)), { what: `the retained status on ${node.url}` })
      expect(msg).toMatchObject({ payload: 'online', retain: true })
    }
  })

  it('closes the older connection when the same client id connects to the other node [MQTT-3.1.4-2]', async () => {
    const { a, b, secrets } = await twoNodes()
    const login = { clientId: deviceA, username: deviceA, password: secrets.devices[deviceA]! }
    const onA = await connect(a.url, login)
    const closedOnA = new Promise<void>((resolve) => onA.once('close', () => resolve()))
    await connect(b.url, login)
    await closedOnA
    const clientsOf = (n: typeof a) => (n.broker.aedes as unknown as { clients: Record<string, unknown> }).clients
    expect(clientsOf(a)[deviceA]).toBeUndefined()
    expect(clientsOf(b)[deviceA]).toBeDefined()
  })

  it('fails fast, naming REDIS_URL, when Redis does not answer', async () => {
    const deadPort = await freePort()
    await expect(startNode(dir.path, `redis://127.0.0.1:${deadPort}`)).rejects.toThrow(/REDIS_URL redis:\/\/127\.0\.0\.1:\d+: cannot reach Redis/)
  })

  it('node A SIGKILLed under load: its devices move to node B and every acknowledged reading reaches the subscriber on B', async () => {
    const [portA, portB] = [await freePort(), await freePort()]
    // A short heartbeat so the dead node's Last Wills fall due within the test.
    const env = { DATA_DIR: dir.path, REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '250' }
    const nodeA = await spawnNode(env, portA)
    const nodeB = await spawnNode(env, portB)
    const secrets = secretsOf(dir.path)

    const ingest = await connect(`mqtt://127.0.0.1:${portB}`, {
      clientId: 'mytho-ingest-kill',
      clean: false,
      username: ingestUser,
      password: secrets.services[ingestUser]!,
    })
    const got = collect(ingest)
    await ingest.subscribeAsync(['mytho/v1/devices/+/readings', 'mytho/v1/devices/+/status'], { qos: 1 })

    // A device given both addresses (its Last Will `offline`, `online` on every connect), and one that knows only node A.
    const servers = [
      { host: '127.0.0.1', port: portA },
      { host: '127.0.0.1', port: portB },
    ]
    const mover = mqtt.connect({
      servers,
      clientId: deviceA,
      username: deviceA,
      password: secrets.devices[deviceA]!,
      reconnectPeriod: 100,
      connectTimeout: 2_000,
      protocolVersion: 4,
      will: { topic: statusTopic(deviceA), payload: Buffer.from('offline'), qos: 1, retain: true },
    })
    mover.on('error', () => {})
    mover.on('connect', () => mover.publish(statusTopic(deviceA), 'online', { qos: 1, retain: true }))
    const stayer = await connect(`mqtt://127.0.0.1:${portA}`, {
      clientId: deviceB,
      username: deviceB,
      password: secrets.devices[deviceB]!,
      will: { topic: statusTopic(deviceB), payload: Buffer.from('offline'), qos: 1, retain: true },
    })
    stayer.on('error', () => {})
    await waitFor(() => mover.connected || undefined, { what: 'the device to connect' })

    const acked = new Set<number>()
    let published = 0
    let errors = 0
    let seq = 0
    const t0 = Date.now() - 3_600_000
    const tick = setInterval(() => {
      for (let i = 0; i < 10; i++) {
        const s = seq++
        published++
        mover.publish(readingsTopic(deviceA), JSON.stringify({ kind: 'water_level', ts: t0 + s, seq: s, waterLevelCm: 150 }), { qos: 1 }, (err) =>
          err ? errors++ : acked.add(s),
        )
      }
    }, 10)
    try {
      await waitFor(() => acked.size >= 500 || undefined, { timeoutMs: 10_000, what: '500 readings acknowledged by node A' })
      await nodeA.kill('SIGKILL')
      const ackedAtKill = acked.size
      await waitFor(() => acked.size >= ackedAtKill + 500 || undefined, { timeoutMs: 15_000, what: '500 more readings acknowledged by node B' })
    } finally {
      clearInterval(tick)
    }
    await waitFor(() => acked.size + errors === published || undefined, { timeoutMs: 15_000, what: 'every publish to be acknowledged' })
    expect(errors).toBe(0)

    const readings = () => new Set(got.filter((m) => m.topic === readingsTopic(deviceA)).map((m) => (JSON.parse(m.payload) as { seq: number }).seq))
    await waitFor(() => [...acked].every((s) => readings().has(s)) || undefined, {
      timeoutMs: 15_000,
      what: `every acknowledged reading on node B (${acked.size} acknowledged, ${readings().size} received)`,
    })

    // The device that could not move gets its Last Will from node B; the one that moved stays online.
    const lastStatus = (id: string) => got.filter((m) => m.topic === statusTopic(id)).at(-1)?.payload
    await waitFor(() => lastStatus(deviceB) === 'offline' || undefined, {
      timeoutMs: 10_000,
      what: "node B to publish the dead node's Last Will of the device left behind",
    })
    expect(lastStatus(deviceA)).toBe('online')
    await mover.endAsync(true)
    await stayer.endAsync(true)
    await nodeB.kill('SIGTERM')
  }, 90_000)
})
