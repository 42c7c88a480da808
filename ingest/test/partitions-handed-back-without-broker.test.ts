import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { readDemoSecrets } from '@mytho/runtime'
import { makeTempDir, startInfluxd, startRedisServer, waitFor, type Influxd, type RedisServer } from '@mytho/testing'
import { SERVICE_PASSWORDS, spawnBroker } from './cluster-harness.ts'
import { countStored, recordCounts, startLoad } from './fault-load.ts'
import { splitCovers, startWorker } from './partition-harness.ts'

/*
 * A partitioned worker that reaches Redis but no broker (issue #10): W1 is given broker A only, W2 broker B only.
 * When A is SIGKILLed W1 must not keep renewing leases of partitions it cannot read: it hands them back within
 * about a TTL and a round and W2 stores those devices' readings (queued for the partition sessions in Redis
 * meanwhile); when A is back W1 rejoins and takes its share again. Nothing acknowledged is lost or doubled.
 */
const P = 4
const TTL = 1500
const ROUND = TTL / 3

describe('a partitioned worker without a broker', () => {
  let redis: RedisServer
  let influxd: Influxd
  beforeAll(async () => {
    ;[redis, influxd] = await Promise.all([startRedisServer(), startInfluxd()])
  })
  afterAll(async () => {
    await influxd?.stop()
    await redis?.stop()
  })

  it('hands its partitions to a worker with a broker within a TTL and a round, and rejoins when its broker is back', async () => {
    const dirs = ['broker-a', 'broker-b', 'w1', 'w2', 'broker-a2'].map((h) => makeTempDir(`mytho-nobroker-${h}-`))
    onTestFinished(() => {
      for (const d of dirs) d.cleanup()
    })
    const [brokerADir, brokerBDir, w1Dir, w2Dir, brokerA2Dir] = dirs.map((d) => d.path) as [string, string, string, string, string]
    const brokerEnv = { REDIS_URL: redis.url, MQTT_CLUSTER_HEARTBEAT_MS: '1000' }
    const a = await spawnBroker({ ...brokerEnv, DATA_DIR: brokerADir })
    const b = await spawnBroker({ ...brokerEnv, DATA_DIR: brokerBDir })
    const secrets = readDemoSecrets(brokerADir)!
    const worker = (id: string, mqttUrl: string, dataDir: string) =>
      startWorker(
        id,
        { mqttUrl, dataDir, influxUrl: influxd.url, redisUrl: redis.url, partitions: P, leaseTtlMs: TTL },
        { INGEST_MQTT_PASSWORD: SERVICE_PASSWORDS.INGEST_MQTT_PASSWORD },
      )
    const [w1, w2] = await Promise.all([worker('w1', a.url, w1Dir), worker('w2', b.url, w2Dir)])
    onTestFinished(() => w1.kill('SIGKILL'))
    onTestFinished(() => w2.kill('SIGKILL'))
    await waitFor(() => splitCovers([w1, w2], P, 2), { timeoutMs: 4 * TTL + 10_000, what: 'the workers to split the partitions' })

    // The devices stay on broker B: only W1's own link is cut.
    const load = await startLoad(b.url, secrets, { devices: 12, ratePerDevice: 10 })
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored >= 200 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored by both workers',
    })

    await a.kill('SIGKILL')
    const killedAt = Date.now()
    // W1 decides a round early (partition-leases.ts), W2 takes the partitions at its next round; 1 s for two
    // processes' scheduling and log lines.
    await waitFor(() => w2.owned().length === P, { timeoutMs: TTL + ROUND + 1000, what: 'W2 to take W1’s partitions' })
    const handedOverMs = Date.now() - killedAt
    // (W1 says what it owns at its rounds: the next one.)
    await waitFor(() => w1.owned().length === 0, { timeoutMs: ROUND + 1000, what: 'W1 to say it owns nothing' })
    expect(w1.output()).toContain('no broker reachable for the lease TTL')
    const storedAfterHandOver = (await countStored(influxd.url, load.t0)).stored
    // 12 devices × 10/s: 600 more is half of them for 10 s at least, so W1's partitions' devices too.
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored > storedAfterHandOver + 600 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored by W2 alone',
    })

    // Broker A back on its port: W1's link reconnects, W1 rejoins the rounds and W2 hands its share back.
    await spawnBroker({ ...brokerEnv, DATA_DIR: brokerA2Dir, MQTT_PORT: new URL(a.url).port })
    await waitFor(() => splitCovers([w1, w2], P, 2), { timeoutMs: 4 * TTL + 10_000, what: 'W1 to rejoin and take its share' })
    expect(w1.output()).toContain('rejoining the partition leases')
    const storedAfterRejoin = (await countStored(influxd.url, load.t0)).stored
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored > storedAfterRejoin + 300 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'readings stored after W1 rejoined',
    })

    const counts = await load.stop(30_000)
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 30_000, what: 'storage to have every acknowledged reading' },
    )
    recordCounts('partitions-handed-back-without-broker', { ...counts, stored, distinct, handedOverMs })
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
    for (const w of [w1, w2]) expect(w.output(), w.id).not.toMatch(/"level":"error"/)
  }, 120_000)
})
