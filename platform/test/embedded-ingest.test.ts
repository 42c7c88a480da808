import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { loadRegistryFile, PipelineHealth, PLATFORM_HEALTH_TOPIC, readingsTopic, type StoredReading } from '@mytho/schema'
import { createMetricsRegistry, readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { registerBrokerMetrics } from '@mytho/broker'
import { createSqliteStore, StorageError, type ReadingStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, waitFor } from '@mytho/testing'
import { createEmbeddedPipeline, loadEmbeddedConfig, type EmbeddedPipeline } from '../src/embedded.ts'

/*
 * Broker and ingest in one process (src/embedded.ts): real Aedes on port 0 with its LevelDB persistence, real
 * MQTT.js devices with their generated credentials, a real SQLite file. The store is the real SQLite store behind a
 * valve the test opens and closes (or makes fail), so "no PUBACK before stored" can be watched happening.
 */

/** The real SQLite store; writes wait while the valve is shut, fail retryably while `failing`, and are recorded. */
function valvedStore(path: string) {
  const sqlite = createSqliteStore({ path })
  let open: Promise<void> = Promise.resolve()
  let openValve = () => {}
  const attempts: StoredReading[][] = []
  const valve = {
    failing: false,
    delayMs: 0,
    attempts,
    shut() {
      open = new Promise((r) => (openValve = r))
    },
    open: () => openValve(),
  }
  const store: ReadingStore = {
    ...sqlite,
    async writeReadings(readings) {
      attempts.push([...readings])
      await open
      if (valve.delayMs > 0) await new Promise((r) => setTimeout(r, valve.delayMs))
      if (valve.failing) throw new StorageError('storage unavailable (test valve)', { retryable: true })
      return sqlite.writeReadings(readings)
    },
  }
  return { store, sqlite, valve }
}

interface Started {
  pipeline: EmbeddedPipeline
  url: string
  secrets: DemoSecrets
  dir: string
  valve: ReturnType<typeof valvedStore>['valve']
  sqlite: ReadingStore
  devices: MqttClient[]
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start(env: Record<string, string> = {}): Promise<Started> {
  const tmp = makeTempDir('mytho-embedded-')
  const config = loadEmbeddedConfig({
    DATA_DIR: tmp.path,
    MQTT_PORT: '0',
    MQTT_HOST: '127.0.0.1',
    MQTT_WS_PORT: 'off',
    MQTT_MAX_PUBLISH_PER_S: '0',
    INGEST_BATCH_WAIT_MS: '10',
    ...env,
  })
  const { store, sqlite, valve } = valvedStore(join(tmp.path, 'readings.sqlite'))
  const pipeline = await createEmbeddedPipeline(config, { store, registry: loadRegistryFile(), logger: silentLogger })
  const { mqttPort } = await pipeline.start()
  const started: Started = { pipeline, url: `mqtt://127.0.0.1:${mqttPort}`, secrets: readDemoSecrets(tmp.path)!, dir: tmp.path, valve, sqlite, devices: [] }
  cleanups.push(async () => {
    valve.open()
    for (const d of started.devices) d.end(true)
    await pipeline.stop()
    await sqlite.close()
    tmp.cleanup()
  })
  return started
}

async function device(s: Started, id: string): Promise<MqttClient> {
  const d = await connectDevice(s.url, id, s.secrets.devices[id]!)
  s.devices.push(d)
  return d
}

const fleet = loadRegistryFile().devices.filter((d) => d.kind === 'water_level')
const level = (ts: number, cm = 150) => ({ kind: 'water_level', ts, waterLevelCm: cm })

describe('ingest embedded in the broker', () => {
  it('stores readings from devices, each one already stored when its PUBACK arrives, with no queue kept for the ingest', async () => {
    const s = await start()
    const ids = fleet.slice(0, 4).map((d) => d.id)
    const clients = await Promise.all(ids.map((id) => device(s, id)))
    const base = Date.now() - 60_000
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < 50; k++) {
          const ts = base + k
          await publishReading(c, ids[i]!, level(ts, 100 + k))
          // Acknowledged = stored: no waiting here.
          const [latest] = await s.sqlite.latest([ids[i]!])
          expect(latest?.ts).toBe(ts)
        }
      }),
    )
    expect(s.pipeline.ingest.writer.written).toBe(200)
    const persistence = (s.pipeline.broker.aedes as unknown as { persistence: { subscriptionsByTopic(t: string): Promise<{ clientId: string }[]> } })
      .persistence
    expect(await persistence.subscriptionsByTopic(readingsTopic(ids[0]!))).toEqual([])
  })

  it.each(['level', 'memory'])("sends a device's PUBACK only once its reading is in storage (MQTT_PERSISTENCE=%s)", async (persistence) => {
    const s = await start({ MQTT_PERSISTENCE: persistence })
    const id = fleet[0]!.id
    const d = await device(s, id)
    const ts = Date.now() - 5_000
    s.valve.shut()
    let acked = false
    const publishing = publishReading(d, id, level(ts, 123)).then(() => (acked = true))
    await waitFor(() => s.valve.attempts.some((b) => b.some((r) => r.deviceId === id && r.ts === ts)), { what: 'the write of the reading to begin' })
    // The write is under way and held: a PUBACK now would be one for a reading storage does not have.
    await new Promise((r) => setTimeout(r, 300))
    expect(acked).toBe(false)
    expect(await s.sqlite.latest([id])).toEqual([])
    s.valve.open()
    await publishing
    expect((await s.sqlite.latest([id]))[0]).toMatchObject({ deviceId: id, ts, fields: { waterLevelCm: 123 } })
  })

  it('dead-letters a malformed reading, acknowledges it, and the device goes on', async () => {
    const s = await start()
    const id = fleet[1]!.id
    const d = await device(s, id)
    await publishReading(d, id, 'mực nước 152cm')
    // The PUBACK came after the dead letter was stored.
    expect((await s.sqlite.deadLetterCounts())['not_json']).toBe(1)
    const ts = Date.now() - 1_000
    await publishReading(d, id, level(ts))
    expect((await s.sqlite.latest([id]))[0]?.ts).toBe(ts)
    expect(s.pipeline.ingest.counters.rejectedByReason['not_json']).toBe(1)
  })

  it('acknowledges a reading once spooled while storage fails, announces blocked when the spool is full, and stores all once storage is back', async () => {
    const s = await start({ INGEST_SPOOL_MAX_READINGS: '3', INGEST_BATCH_MAX: '1', INGEST_HEALTH_INTERVAL_MS: '100' })
    const statuses: string[] = []
    // As the broker's pipeline gate follows it (broker/src/pipeline-gate.ts).
    await new Promise<void>((subscribed) =>
      s.pipeline.broker.aedes.subscribe(
        PLATFORM_HEALTH_TOPIC,
        (packet, done) => {
          const h = PipelineHealth.safeParse(JSON.parse(Buffer.from(packet.payload).toString('utf8')))
          if (h.success) statuses.push(h.data.status)
          done()
        },
        () => subscribed(),
      ),
    )
    const id = fleet[2]!.id
    const d = await device(s, id)
    s.valve.failing = true
    const base = Date.now() - 30_000
    // The spool takes three; each is acknowledged once it is on disk.
    for (let k = 0; k < 3; k++) await publishReading(d, id, level(base + k))
    expect(s.pipeline.ingest.spool!.items).toBe(3)
    let fourthAcked = false
    const fourth = publishReading(d, id, level(base + 3)).then(() => (fourthAcked = true))
    // The broker's pipeline gate follows this retained health: while blocked it holds device readings.
    await waitFor(() => statuses.includes('blocked'), { what: 'health blocked' })
    expect(fourthAcked).toBe(false)
    s.valve.failing = false
    await fourth
    await waitFor(async () => (await s.sqlite.latest([id]))[0]?.ts === base + 3, { what: 'the spool drained to storage' })
    const stored = await s.sqlite.history({ deviceIds: [id], metric: 'waterLevelCm', from: base, to: base + 10, window: 'raw' })
    expect(stored[0]?.points).toHaveLength(4)
  })

  it("announces the pipeline down as it stops (retained), as the separate ingest's Last Will does, before the broker closes", async () => {
    const s = await start()
    const seen: { status: string; retain: boolean }[] = []
    await new Promise<void>((subscribed) =>
      s.pipeline.broker.aedes.subscribe(
        PLATFORM_HEALTH_TOPIC,
        (packet, done) => {
          const h = PipelineHealth.safeParse(JSON.parse(Buffer.from(packet.payload).toString('utf8')))
          if (h.success) seen.push({ status: h.data.status, retain: packet.retain })
          done()
        },
        () => subscribed(),
      ),
    )
    await s.pipeline.stop()
    expect(seen.at(-1)).toEqual({ status: 'down', retain: true })
  })

  it('stop() with readings in flight: every acknowledged reading is stored', async () => {
    const s = await start({ INGEST_BATCH_MAX: '50' })
    s.valve.delayMs = 40
    const ids = fleet.slice(0, 5).map((d) => d.id)
    const clients = await Promise.all(ids.map((id) => device(s, id)))
    const acked = new Map<string, number[]>(ids.map((id) => [id, []]))
    let published = 0
    let stopping = false
    const base = Date.now() - 120_000
    clients.forEach((c, i) => {
      const id = ids[i]!
      let next = 0
      const pump = () => {
        if (stopping) return
        const ts = base + next++
        published++
        c.publish(readingsTopic(id), JSON.stringify(level(ts)), { qos: 1 }, (err) => {
          if (!err) acked.get(id)!.push(ts)
          pump()
        })
      }
      for (let w = 0; w < 20; w++) pump()
    })
    await waitFor(() => s.pipeline.ingest.writer.written >= 300, { timeoutMs: 20_000, what: 'readings flowing' })
    await s.pipeline.stop()
    stopping = true
    const ackedTotal = [...acked.values()].reduce((n, a) => n + a.length, 0)
    expect(published).toBeGreaterThan(ackedTotal) // some were in flight when it stopped
    for (const id of ids) {
      const series = await s.sqlite.history({ deviceIds: [id], metric: 'waterLevelCm', from: base, to: base + 1_000_000, window: 'raw' })
      const stored = new Set(series[0]?.points.map((p) => p.ts))
      const missing = acked.get(id)!.filter((ts) => !stored.has(ts))
      expect(missing).toEqual([])
    }
  })
})

/*
 * A reading only the ingest receives skips Aedes's publish and goes to the ingest straight
 * (broker/src/aedes-patches/straight-to-sole-handler.ts). What must still hold: acknowledged = stored, and anyone else
 * who would receive a reading (a live subscriber, a persistent session away, a retained message) still does.
 */
describe("a reading only the ingest receives goes to it straight, and nobody else's copy is lost", () => {
  /** The API's service account (it may subscribe under mytho/v1/): a subscriber the ingest does not know about. */
  const asApi = (s: Started, opts: { clientId: string; clean: boolean }) => ({
    ...opts,
    username: 'svc-api',
    password: s.secrets.services['svc-api']!,
    reconnectPeriod: 0,
  })
  const subscriber = (s: Started, opts: { clientId: string; clean: boolean }) => mqtt.connectAsync(s.url, asApi(s, opts))

  /** Publishes readings until one goes straight (the first on a topic takes Aedes's path while the broker learns who receives it). */
  async function warmUp(s: Started, d: MqttClient, id: string, base: number): Promise<number> {
    const stats = s.pipeline.broker.inProcess!.stats
    const before = stats.straight
    let ts = base
    await waitFor(
      async () => {
        await publishReading(d, id, level(ts++))
        return stats.straight > before
      },
      { what: 'a reading delivered straight' },
    )
    return ts
  }

  it.each(['level', 'memory'])('still sends the PUBACK only once the reading is in storage (MQTT_PERSISTENCE=%s)', async (persistence) => {
    const s = await start({ MQTT_PERSISTENCE: persistence })
    const id = fleet[3]!.id
    const d = await device(s, id)
    const ts = await warmUp(s, d, id, Date.now() - 60_000)
    const straight = s.pipeline.broker.inProcess!.stats.straight
    s.valve.shut()
    let acked = false
    const publishing = publishReading(d, id, level(ts, 131)).then(() => (acked = true))
    await waitFor(() => s.valve.attempts.some((b) => b.some((r) => r.deviceId === id && r.ts === ts)), { what: 'the write of the reading to begin' })
    expect(s.pipeline.broker.inProcess!.stats.straight).toBe(straight + 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(acked).toBe(false)
    s.valve.open()
    await publishing
    expect((await s.sqlite.latest([id]))[0]).toMatchObject({ ts, fields: { waterLevelCm: 131 } })
  })

  it("counts each path on the broker's /metrics, so a subscriber that slows every reading shows", async () => {
    const s = await start()
    const id = fleet[7]!.id
    const d = await device(s, id)
    await warmUp(s, d, id, Date.now() - 60_000)
    const registry = createMetricsRegistry('broker+ingest')
    registerBrokerMetrics(registry, s.pipeline.broker)
    const text = await registry.metrics()
    const count = (path: string) =>
      Number(new RegExp(`mytho_mqtt_in_process_publishes_total\\{path="${path}",service="broker\\+ingest"\\} (\\d+)`).exec(text)?.[1])
    expect(count('straight')).toBe(s.pipeline.broker.inProcess!.stats.straight)
    expect(count('straight')).toBeGreaterThan(0)
    expect(count('aedes')).toBeGreaterThan(0) // the topic's first reading, while the broker learnt who receives it
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('')
  })

  it('a subscriber that comes later gets every reading from then on, and storage too', async () => {
    const s = await start()
    const id = fleet[4]!.id
    const d = await device(s, id)
    // Connected before the broker learns who receives the topic: only the subscription itself tells it.
    const sub = await subscriber(s, { clientId: 'mytho-api-watcher', clean: true })
    cleanups.push(async () => void sub.end(true))
    let ts = await warmUp(s, d, id, Date.now() - 60_000)
    const got: number[] = []
    sub.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { ts: number }).ts))
    await sub.subscribeAsync(readingsTopic(id), { qos: 1 })
    const sent: number[] = []
    for (let k = 0; k < 5; k++) {
      sent.push(ts)
      await publishReading(d, id, level(ts++))
    }
    await waitFor(() => got.length >= sent.length, { what: 'the subscriber to get the readings' })
    expect(got).toEqual(sent)
    expect((await s.sqlite.latest([id]))[0]?.ts).toBe(sent.at(-1))
  })

  it('a persistent session away gets the readings published meanwhile when it comes back', async () => {
    const s = await start()
    const id = fleet[5]!.id
    const d = await device(s, id)
    let ts = await warmUp(s, d, id, Date.now() - 60_000)
    const away = await subscriber(s, { clientId: 'mytho-api-away', clean: false })
    await away.subscribeAsync(readingsTopic(id), { qos: 1 })
    await away.endAsync()
    const sent: number[] = []
    for (let k = 0; k < 5; k++) {
      sent.push(ts)
      await publishReading(d, id, level(ts++))
    }
    const got: number[] = []
    // Not connectAsync: the queued readings may come before it resolves, so the listener is there from the start.
    const back = mqtt.connect(s.url, asApi(s, { clientId: 'mytho-api-away', clean: false }))
    cleanups.push(async () => void back.end(true))
    back.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { ts: number }).ts))
    await waitFor(() => got.length >= sent.length, { what: 'the queued readings to arrive' })
    expect(got).toEqual(sent)
  })

  it('a retained reading is kept for later subscribers', async () => {
    const s = await start()
    const id = fleet[6]!.id
    const d = await device(s, id)
    const ts = await warmUp(s, d, id, Date.now() - 60_000)
    await d.publishAsync(readingsTopic(id), JSON.stringify(level(ts, 140)), { qos: 1, retain: true })
    const sub = await subscriber(s, { clientId: 'mytho-api-late', clean: true })
    cleanups.push(async () => void sub.end(true))
    const retained = new Promise<{ ts: number }>((resolve) =>
      sub.on('message', (_t, payload, packet) => packet.retain && resolve(JSON.parse(payload.toString()))),
    )
    await sub.subscribeAsync(readingsTopic(id), { qos: 1 })
    expect((await retained).ts).toBe(ts)
    expect((await s.sqlite.latest([id]))[0]?.ts).toBe(ts)
  })
})
