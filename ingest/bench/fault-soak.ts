/*
 * The 60 s InfluxDB outage of issue #7 under steady load, with counts printed (the test suite runs an 8 s one).
 * Real processes: influxd 1.6.7, the broker (MQTT_PERSISTENCE=level) and the ingest each as their own
 * process, 20 MQTT.js devices × 50 readings/s at QoS 1 in this process.
 *
 *   npx tsx ingest/bench/fault-soak.ts            (SOAK_OUTAGE_S, SOAK_DEVICES, SOAK_RATE to change it)
 */
import { readDemoSecrets } from '@mytho/runtime'
import { freePort, makeTempDir, startInfluxd, waitFor } from '@mytho/testing'
import { countStored, loadBrokerEnv, spawnService, startLoad, watchHealth } from '../test/fault-load.ts'

const outageS = Number(process.env['SOAK_OUTAGE_S'] ?? 60)
const devices = Number(process.env['SOAK_DEVICES'] ?? 20)
const rate = Number(process.env['SOAK_RATE'] ?? 50)
const say = (msg: string, extra: Record<string, unknown> = {}) => process.stdout.write(`${new Date().toISOString()} ${msg} ${JSON.stringify(extra)}\n`)

const dir = makeTempDir('mytho-soak-')
const influxd = await startInfluxd()
const port = await freePort()
const mqttUrl = `mqtt://127.0.0.1:${port}`
const broker = spawnService('broker/src/main.ts', { ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: String(port), MQTT_PERSISTENCE: 'level' })
try {
  await waitFor(() => broker.output().includes('broker: MQTT'), { timeoutMs: 20_000, what: 'broker' })
  const ingest = spawnService('ingest/src/main.ts', {
    MQTT_URL: mqttUrl,
    DATA_DIR: dir.path,
    INFLUX_URL: influxd.url,
    ALERTS_ENABLED: 'false',
    INGEST_HEALTH_INTERVAL_MS: '1000',
  })
  await waitFor(() => ingest.output().includes('ingest subscribed'), { timeoutMs: 20_000, what: 'ingest' })
  const secrets = readDemoSecrets(dir.path)!
  const health = await watchHealth(mqttUrl, secrets)
  const load = await startLoad(mqttUrl, secrets, { devices, ratePerDevice: rate })
  say('load running', { devices, readingsPerS: devices * rate })
  await new Promise((r) => setTimeout(r, 10_000))

  await influxd.pause()
  const outageStart = Date.now()
  say('influxd stopped', { acknowledged: load.stats.acknowledged })
  const report = setInterval(() => {
    const h = health.latest()
    say('outage', {
      acknowledged: load.stats.acknowledged,
      status: h?.status,
      spoolDepth: h?.spool.depth,
      oldestAgeMs: h?.spool.oldestAgeMs,
      devicesUnacked: load.unacknowledged(),
    })
  }, 10_000)
  await new Promise((r) => setTimeout(r, outageS * 1000))
  clearInterval(report)
  const peak = health.latest()
  await influxd.resume()
  say('influxd started', { outageMs: Date.now() - outageStart, spoolDepth: peak?.spool.depth, oldestAgeMs: peak?.spool.oldestAgeMs })
  const resumedAt = Date.now()
  await waitFor(() => health.latest()?.status === 'ok' || undefined, { timeoutMs: 300_000, what: 'spool drained' })
  const drainMs = Date.now() - resumedAt
  await new Promise((r) => setTimeout(r, 5_000))

  const counts = await load.stop(60_000)
  const stored = await waitFor(
    async () => {
      const c = await countStored(influxd.url, load.t0)
      return c.stored >= counts.acknowledged ? c : undefined
    },
    { timeoutMs: 120_000, what: 'storage to catch up' },
  ).catch(() => countStored(influxd.url, load.t0))
  const h = health.latest()
  say('result', {
    ...counts,
    ...stored,
    duplicates: stored.stored - stored.distinct,
    lost: counts.acknowledged - stored.stored,
    peakSpoolDepth: peak?.spool.depth,
    peakOldestAgeMs: peak?.spool.oldestAgeMs,
    drainMsUntilHealthOk: drainMs,
    ingestRedelivered: h?.mqtt.redelivered,
    storageWriteErrors: h?.storage.writeErrors,
  })
  await health.stop()
  await ingest.kill('SIGTERM')
  if (counts.acknowledged !== stored.stored || stored.stored !== stored.distinct) process.exitCode = 1
} finally {
  await broker.kill('SIGTERM')
  await influxd.stop()
  dir.cleanup()
}
