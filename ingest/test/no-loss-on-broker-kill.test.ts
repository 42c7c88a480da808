import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readDemoSecrets, type DemoSecrets } from '@mytho/runtime'
import { freePort, makeTempDir, startInfluxd, waitFor, type Influxd } from '@mytho/testing'
import { countStored, loadBrokerEnv, recordCounts, spawnService, startLoad, type Child } from './fault-load.ts'

/*
 * The real broker process (MQTT_PERSISTENCE=level) SIGKILLed under steady load while the ingest is away
 * and its persistent session has a backlog, then restarted on the same port and DATA_DIR: the devices
 * reconnect (MQTT.js resends what was never acknowledged), the ingest comes back to its queue, and
 * storage ends with exactly the acknowledged readings.
 */
describe('no loss when the broker is killed', () => {
  const dir = makeTempDir('mytho-broker-kill-')
  let influxd: Influxd
  let port: number
  let mqttUrl: string
  let secrets: DemoSecrets
  const children: Child[] = []

  const startBrokerProcess = async () => {
    const child = spawnService('broker/src/main.ts', { ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: String(port), MQTT_PERSISTENCE: 'level' })
    children.push(child)
    await waitFor(() => child.output().includes('broker: MQTT'), { timeoutMs: 20_000, what: 'the broker to listen' })
    return child
  }
  const startIngest = async () => {
    const child = spawnService('ingest/src/main.ts', {
      MQTT_URL: mqttUrl,
      DATA_DIR: dir.path,
      INFLUX_URL: influxd.url,
      ALERTS_ENABLED: 'false',
      INGEST_BATCH_WAIT_MS: '10',
    })
    children.push(child)
    await waitFor(() => child.output().includes('ingest subscribed'), { timeoutMs: 20_000, what: 'the ingest to subscribe' })
    return child
  }

  beforeAll(async () => {
    influxd = await startInfluxd()
    port = await freePort()
    mqttUrl = `mqtt://127.0.0.1:${port}`
  })
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL')
    await influxd?.stop()
    dir.cleanup()
  })

  it('keeps the ingest session queue through a broker SIGKILL; devices reconnect; acknowledged == stored', async () => {
    let broker = await startBrokerProcess()
    secrets = readDemoSecrets(dir.path)!
    let ingest = await startIngest()
    const load = await startLoad(mqttUrl, secrets, { devices: 20, ratePerDevice: 50 })
    await waitFor(async () => ((await countStored(influxd.url, load.t0)).stored >= 1000 ? true : undefined), { timeoutMs: 15_000, what: 'readings stored' })

    // The ingest goes away: the broker queues for its persistent session.
    await ingest.kill('SIGKILL')
    const ackedBefore = load.stats.acknowledged
    await waitFor(() => load.stats.acknowledged - ackedBefore >= 2000 || undefined, { timeoutMs: 15_000, what: 'a backlog queued for the ingest' })
    const backlog = load.stats.acknowledged - ackedBefore

    await broker.kill('SIGKILL')
    broker = await startBrokerProcess()
    await waitFor(() => load.connected() === 20 || undefined, { timeoutMs: 15_000, what: 'every device to reconnect' })
    ingest = await startIngest()

    await new Promise((r) => setTimeout(r, 1_000)) // load after the restart
    const counts = await load.stop()
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 20_000, what: 'the backlog to reach storage' },
    )
    recordCounts('broker-sigkill', { ...counts, stored, distinct, backlogAckedWhileIngestAway: backlog })
    await ingest.kill('SIGTERM')
    await broker.kill('SIGTERM')

    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)
})
