import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { makeTempDir, startInfluxd, startRedisServer, waitFor, type Influxd, type RedisServer } from '@mytho/testing'
import { countStored, loadBrokerEnv, recordCounts, startLoad } from './fault-load.ts'
import { splitCovers, startWorker, watchWorkersHealth, type Worker, type WorkerEnv } from './partition-harness.ts'

/*
 * Several ingest workers sharing the stream (issue #10): 8 partitions, leases in a real redis-server, real ingest
 * processes, a real broker (on LevelDB, or on the same Redis as a cluster node), real MQTT.js devices publishing
 * QoS 1, InfluxDB counted. A reading acknowledged to its device is stored, and stored once: storage keys are
 * (device, ts), and with no worker change each message reaches exactly one worker.
 */
const P = 8
const TTL = 1500

describe('ingest workers sharing the stream by partition', () => {
  const dir = makeTempDir('mytho-ingest-partitions-')
  let influxd: Influxd
  let redis: RedisServer
  let secrets: DemoSecrets

  beforeAll(async () => {
    ;[influxd, redis] = await Promise.all([startInfluxd(), startRedisServer()])
  })
  afterAll(async () => {
    await influxd?.stop()
    await redis?.stop()
    dir.cleanup()
  })

  /** A broker for one test: LevelDB sessions (the standalone default), or a cluster node on the test's Redis. */
  async function platform(kind: 'level' | 'redis'): Promise<WorkerEnv> {
    const broker = await createBroker(
      loadBrokerConfig({
        ...loadBrokerEnv,
        DATA_DIR: dir.path,
        MQTT_PORT: '0',
        ...(kind === 'redis' ? { REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '1000' } : {}),
      }),
      { logger: silentLogger },
    )
    onTestFinished(() => broker.stop())
    const mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    secrets = readDemoSecrets(dir.path)!
    return { mqttUrl, dataDir: dir.path, influxUrl: influxd.url, redisUrl: redis.url, partitions: P, leaseTtlMs: TTL }
  }

  const workers = async (env: WorkerEnv, ids: string[], extra: Record<string, string> = {}): Promise<Worker[]> => {
    const started = await Promise.all(ids.map((id) => startWorker(id, env, extra)))
    for (const w of started) onTestFinished(() => w.kill('SIGKILL'))
    return started
  }

  const storedOnce = async (influxUrl: string, t0: number, acknowledged: number) =>
    waitFor(
      async () => {
        const c = await countStored(influxUrl, t0)
        return c.stored >= acknowledged ? c : undefined
      },
      { timeoutMs: 20_000, what: 'storage to catch up' },
    )

  it('two workers split the 8 partitions and store every reading of 20 devices once', async () => {
    const env = await platform('level')
    const ws = await workers(env, ['w1', 'w2'])
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions' })
    const health = await watchWorkersHealth(env.mqttUrl, secrets)
    onTestFinished(() => health.stop())

    const load = await startLoad(env.mqttUrl, secrets, { devices: 20, ratePerDevice: 20 })
    await new Promise((r) => setTimeout(r, 2_500))
    const counts = await load.stop()
    const { stored, distinct } = await storedOnce(env.influxUrl, load.t0, counts.acknowledged)
    // Each message reached one worker first: the broker gave each device's messages to its partition's session alone.
    // A lease that lapsed while this loaded machine stalled a worker (TTL 1.5 s) moves its partition: the next owner
    // gets what was unacknowledged again, marked DUP, and storage keys make that no second point (stored = distinct).
    const ids = ['w1', 'w2']
    const firstDeliveries = () => health.received(ids) - health.redelivered(ids)
    const received = await waitFor(() => (firstDeliveries() >= counts.acknowledged ? firstDeliveries() : undefined), {
      timeoutMs: 5_000,
      what: 'the workers to report what they received',
    })
    const redelivered = health.redelivered(ids)
    recordCounts('ingest-partitions-split', { ...counts, stored, distinct, received, redelivered, w1: ws[0]!.owned().length, w2: ws[1]!.owned().length })

    expect(ws[0]!.owned().length).toBeGreaterThan(0)
    expect(ws[1]!.owned().length).toBeGreaterThan(0)
    expect(splitCovers(ws, P)).toBe(true)
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
    expect(received).toBe(counts.acknowledged)
  }, 60_000)

  it('a SIGKILLed worker’s partitions are taken over within the lease TTL, nothing lost or doubled (broker on Redis)', async () => {
    const env = await platform('redis')
    const ws = await workers(env, ['k1', 'k2'])
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions' })
    const load = await startLoad(env.mqttUrl, secrets, { devices: 20, ratePerDevice: 25 })
    await waitFor(async () => ((await countStored(env.influxUrl, load.t0)).stored >= 500 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    const [victim, survivor] = ws as [Worker, Worker]
    const killedAt = Date.now()
    await victim.kill('SIGKILL')
    await waitFor(() => survivor.owned().length === P, { timeoutMs: TTL + 5_000, what: 'the survivor to own every partition' })
    const takeoverMs = Date.now() - killedAt
    await new Promise((r) => setTimeout(r, 1_000)) // load on the survivor alone

    const counts = await load.stop()
    const { stored, distinct } = await storedOnce(env.influxUrl, load.t0, counts.acknowledged)
    recordCounts('ingest-partitions-sigkill', { ...counts, stored, distinct, takeoverMs })

    expect(takeoverMs).toBeLessThan(TTL + 3_000)
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)

  it('a third worker joining takes its share under load, nothing lost (alerts on: their state moves with the devices)', async () => {
    const env = await platform('level')
    const alerts = { ALERTS_ENABLED: 'true', ALERT_TICK_MS: '200' }
    const ws = await workers(env, ['r1', 'r2'], alerts)
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions' })
    const load = await startLoad(env.mqttUrl, secrets, { devices: 20, ratePerDevice: 25 })
    await waitFor(async () => ((await countStored(env.influxUrl, load.t0)).stored >= 500 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    const [third] = await workers(env, ['r3'], alerts)
    const all = [...ws, third!]
    // ceil(8 / 3) = 3 each at most: the first two hand back partitions, the third takes them.
    await waitFor(() => splitCovers(all, P) && all.every((w) => w.owned().length <= 3), { timeoutMs: 4 * TTL + 5_000, what: 'the three workers to rebalance' })
    await new Promise((r) => setTimeout(r, 1_000))

    const counts = await load.stop()
    const { stored, distinct } = await storedOnce(env.influxUrl, load.t0, counts.acknowledged)
    recordCounts('ingest-partitions-rebalance', { ...counts, stored, distinct, owned: all.map((w) => w.owned().length).join('/') })

    expect(third!.owned().length).toBeGreaterThan(0)
    for (const w of all) expect(w.output(), w.id).not.toMatch(/"level":"error"/)
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)
  it('a worker SIGKILLed while storage is down: a survivor drains its spool of acknowledged readings', async () => {
    const env = await platform('level')
    const ws = await workers(env, ['s1', 's2'])
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions' })
    const health = await watchWorkersHealth(env.mqttUrl, secrets)
    onTestFinished(() => health.stop())
    const load = await startLoad(env.mqttUrl, secrets, { devices: 20, ratePerDevice: 25 })
    await waitFor(async () => ((await countStored(env.influxUrl, load.t0)).stored >= 300 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    const [victim, survivor] = ws as [Worker, Worker]
    await influxd.pause()
    try {
      await waitFor(() => ((health.latest.get('s1')?.spool.depth ?? 0) >= 200 ? true : undefined), { timeoutMs: 15_000, what: 'the victim to spool' })
    } finally {
      await victim.kill('SIGKILL')
      await influxd.resume()
    }
    const spooledAtKill = health.latest.get('s1')!.spool.depth
    await waitFor(() => survivor.owned().length === P, { timeoutMs: TTL + 5_000, what: 'the survivor to own every partition' })
    await new Promise((r) => setTimeout(r, 1_000))

    const counts = await load.stop()
    const { stored, distinct } = await storedOnce(env.influxUrl, load.t0, counts.acknowledged)
    recordCounts('ingest-partitions-orphan-spool', { ...counts, stored, distinct, spooledAtKill })

    expect(survivor.output()).toContain('spool of a gone worker drained')
    expect(spooledAtKill).toBeGreaterThan(0)
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)
  it('a worker frozen past its lease (SIGSTOP) gives its partitions up when it wakes; nothing lost or doubled', async () => {
    const env = await platform('level')
    const ws = await workers(env, ['f1', 'f2'])
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions' })
    const load = await startLoad(env.mqttUrl, secrets, { devices: 20, ratePerDevice: 25 })
    await waitFor(async () => ((await countStored(env.influxUrl, load.t0)).stored >= 300 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    const [frozen, other] = ws as [Worker, Worker]
    frozen.child.kill('SIGSTOP')
    try {
      await waitFor(() => other.owned().length === P, { timeoutMs: TTL + 5_000, what: 'the other worker to own every partition' })
    } finally {
      frozen.child.kill('SIGCONT')
    }
    // Awake, it finds its leases gone and closes those sessions instead of taking the client ids back; then the two rebalance.
    await waitFor(() => frozen.output().includes('partition lease lost'), { timeoutMs: 5_000, what: 'the frozen worker to give up its leases' })
    await waitFor(() => splitCovers(ws, P), { timeoutMs: 4 * TTL + 5_000, what: 'the workers to split the partitions again' })
    await new Promise((r) => setTimeout(r, 500))

    const counts = await load.stop()
    const { stored, distinct } = await storedOnce(env.influxUrl, load.t0, counts.acknowledged)
    recordCounts('ingest-partitions-sigstop', { ...counts, stored, distinct })

    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)
})
