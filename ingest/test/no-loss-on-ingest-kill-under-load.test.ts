import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import { makeTempDir, startInfluxd, waitFor, type Influxd } from '@mytho/testing'
import { countStored, loadBrokerEnv, recordCounts, spawnService, startLoad, watchHealth, type Child } from './fault-load.ts'

/*
 * The real ingest process SIGKILLed twice under steady load (20 devices × 50 readings/s, QoS 1): once
 * mid-batch with storage up (its unacknowledged messages come back from the broker), once while
 * InfluxDB is down and its spool holds acknowledged readings (the restarted ingest drains them).
 */
describe('no loss when the ingest is killed under load', () => {
  const dir = makeTempDir('mytho-ingest-kill-')
  let influxd: Influxd
  let broker: Broker
  let mqttUrl: string
  let secrets: DemoSecrets
  const children: Child[] = []

  beforeAll(async () => {
    influxd = await startInfluxd()
    broker = await createBroker(loadBrokerConfig({ ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: '0' }), { logger: silentLogger })
    mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    secrets = readDemoSecrets(dir.path)!
  })
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL')
    await broker?.stop()
    await influxd?.stop()
    dir.cleanup()
  })

  const startIngest = async () => {
    const child = spawnService('ingest/src/main.ts', {
      MQTT_URL: mqttUrl,
      DATA_DIR: dir.path,
      INFLUX_URL: influxd.url,
      ALERTS_ENABLED: 'false',
      INGEST_BATCH_WAIT_MS: '10',
      INGEST_HEALTH_INTERVAL_MS: '300',
    })
    children.push(child)
    await waitFor(() => child.output().includes('ingest subscribed'), { timeoutMs: 20_000, what: 'the ingest to subscribe' })
    return child
  }

  it('stores every acknowledged reading exactly once across SIGKILLs, including what the spool held', async () => {
    const health = await watchHealth(mqttUrl, secrets)
    let ingest = await startIngest()
    const load = await startLoad(mqttUrl, secrets, { devices: 20, ratePerDevice: 50 })
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored >= 1500 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    await ingest.kill('SIGKILL') // mid-batch: under this load a write is always in flight
    ingest = await startIngest()

    await influxd.pause()
    await waitFor(() => ((health.latest()?.spool.depth ?? 0) >= 1000 ? true : undefined), { timeoutMs: 15_000, what: 'the ingest to spool' })
    const spooledAtKill = health.latest()!.spool.depth
    await ingest.kill('SIGKILL')
    await influxd.resume()
    ingest = await startIngest()

    await new Promise((r) => setTimeout(r, 1_000)) // a little load after the restart
    const counts = await load.stop()
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 20_000, what: 'storage to catch up' },
    )
    recordCounts('ingest-sigkill-x2', { ...counts, stored, distinct, spooledAtKill, redeliveredAfterRestart: health.latest()?.mqtt.redelivered ?? -1 })
    await health.stop()
    await ingest.kill('SIGTERM')

    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
    expect(spooledAtKill).toBeGreaterThan(0)
  }, 60_000)
})
