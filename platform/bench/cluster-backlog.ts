/*
 * A persistent session's backlog (issue #10): the ingest is away while BENCH_BACKLOG readings are queued for it,
 * then it reconnects; how long until all are delivered and acknowledged, with the broker's memory store, its
 * LevelDB store (the standalone default) and Redis (REDIS_URL). One broker in this process, one device
 * publishing QoS 1 in windows of 500, the subscriber MQTT.js (it acknowledges each delivery at once).
 * For Redis also the Redis CPU spent per acknowledgement in LREM (INFO commandstats).
 *
 *   npx tsx platform/bench/cluster-backlog.ts     BENCH_BACKLOG (50000)
 */
import mqtt from 'mqtt'
import { Redis } from 'ioredis'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, SERVICE_ACCOUNTS, silentLogger } from '@mytho/runtime'
import { DeviceRegistry, loadRegistryFile, readingsTopic } from '@mytho/schema'
import { makeTempDir, startRedisServer, waitFor } from '@mytho/testing'

const N = Number(process.env['BENCH_BACKLOG'] ?? 50_000)
const registry = new DeviceRegistry(loadRegistryFile().devices.slice(0, 3))
const redis = await startRedisServer()

async function run(setup: 'memory' | 'level' | 'redis'): Promise<string> {
  const dir = makeTempDir('mytho-bench-backlog-')
  const env = setup === 'redis' ? { REDIS_URL: redis.url } : { MQTT_PERSISTENCE: setup }
  const broker = await createBroker(
    loadBrokerConfig({ DATA_DIR: dir.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_MAX_PUBLISH_PER_S: '0', ...env }),
    { registry, logger: silentLogger },
  )
  const r = new Redis(redis.url)
  try {
    await r.flushall()
    await r.config('RESETSTAT')
    const url = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    const secrets = readDemoSecrets(dir.path)!
    const login = {
      clientId: 'mytho-ingest-backlog',
      clean: false,
      username: SERVICE_ACCOUNTS.ingest,
      password: secrets.services[SERVICE_ACCOUNTS.ingest]!,
      reconnectPeriod: 0,
    }
    const first = await mqtt.connectAsync(url, login)
    await first.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })
    await first.endAsync()

    const id = registry.devices[0]!.id
    const device = await mqtt.connectAsync(url, { username: id, password: secrets.devices[id]!, reconnectPeriod: 0 })
    let t = performance.now()
    for (let i = 0; i < N; i += 500) {
      const batch = Array.from({ length: Math.min(500, N - i) }, (_, k) =>
        device.publishAsync(readingsTopic(id), JSON.stringify({ kind: 'water_level', ts: 1_700_000_000_000 + i + k, waterLevelCm: 130 }), { qos: 1 }),
      )
      await Promise.all(batch)
    }
    const queuedS = (performance.now() - t) / 1000
    await device.endAsync()

    t = performance.now()
    let got = 0
    const back = mqtt.connect(url, login)
    back.on('message', () => got++)
    await waitFor(() => got >= N || undefined, { timeoutMs: 600_000, intervalMs: 20, what: `${N} delivered (got ${got})` })
    const deliveredS = (performance.now() - t) / 1000
    let drainedS = deliveredS
    let lrem = ''
    if (setup === 'redis') {
      await waitFor(async () => (await r.llen(`outgoing:${login.clientId}`)) === 0 || undefined, { timeoutMs: 600_000, intervalMs: 20, what: 'queue emptied' })
      drainedS = (performance.now() - t) / 1000
      const stat = /cmdstat_lrem:calls=(\d+),usec=(\d+)/.exec(await r.info('commandstats'))
      if (stat) lrem = `, LREM ${(Number(stat[2]) / Number(stat[1])).toFixed(1)} µs per call (${(Number(stat[2]) / 1e6).toFixed(2)} s in all)`
    }
    await back.endAsync(true)
    return `${setup}: ${N} queued in ${queuedS.toFixed(1)} s; after the reconnect delivered in ${deliveredS.toFixed(1)} s (${Math.round(N / deliveredS)}/s), queue empty after ${drainedS.toFixed(1)} s${lrem}`
  } finally {
    r.disconnect()
    await broker.stop()
    dir.cleanup()
  }
}

try {
  for (const setup of ['memory', 'level', 'redis'] as const) console.log(await run(setup))
} finally {
  await redis.stop()
}
