import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DemoSecrets } from '@mytho/runtime'
import { waitFor, type Influxd } from '@mytho/testing'
import type { Ingest } from '../src/ingest.ts'
import { countStored, recordCounts, startInfluxPlatform, startLoad, type InfluxPlatform } from './fault-load.ts'

/*
 * InfluxDB stopped for 8 s under steady load (20 devices × 50 readings/s, QoS 1), then started again
 * (ingest/bench/fault-soak.ts runs the 60 s version): the ingest spools to disk and keeps acknowledging,
 * then drains, and storage ends with exactly the acknowledged readings.
 */
describe('no loss through an InfluxDB outage', () => {
  let platform: InfluxPlatform | undefined
  let influxd: Influxd
  let ingest: Ingest
  let mqttUrl: string
  let secrets: DemoSecrets

  beforeAll(async () => {
    platform = await startInfluxPlatform('mytho-outage-', { INGEST_HEALTH_INTERVAL_MS: '500' })
    ;({ influxd, ingest, mqttUrl, secrets } = platform)
  })
  afterAll(async () => {
    await platform?.stop()
  })

  it('stores every acknowledged reading exactly once after InfluxDB comes back', async () => {
    const load = await startLoad(mqttUrl, secrets, { devices: 20, ratePerDevice: 50 })
    await waitFor(() => ingest.writer.written >= 1000, { timeoutMs: 15_000, what: 'readings flowing into InfluxDB' })

    await influxd.pause()
    await waitFor(() => ingest.writer.spooledItems >= 2000, { timeoutMs: 15_000, what: 'the ingest to spool while InfluxDB is down' })
    const degraded = ingest.healthNow()
    await new Promise((r) => setTimeout(r, 6_000)) // the outage: load keeps running
    const acknowledgedDuringOutage = load.stats.acknowledged
    await influxd.resume()

    await new Promise((r) => setTimeout(r, 1_000)) // a little more load after the outage
    const counts = await load.stop()
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 20_000, what: 'the spool to drain into InfluxDB' },
    )
    recordCounts('influx-outage-8s', { ...counts, stored, distinct, spooled: ingest.writer.spooledItems, redelivered: ingest.mqtt.redelivered })

    expect(degraded).toMatchObject({ status: 'degraded', storage: { up: false } })
    expect(degraded.spool.depth).toBeGreaterThan(0)
    expect(acknowledgedDuringOutage).toBeGreaterThan(0)
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
    await waitFor(() => ingest.spool?.items === 0, { what: 'the spool to be empty' })
    await waitFor(() => (ingest.healthNow().status === 'ok' ? true : undefined), { what: 'health back to ok' })
    // The readings stored late are rolled up at once (continuous queries are off in the test server: only the
    // ingest's rollUp() after the drain can have written these 5-minute points).
    const rolled = await waitFor(
      async () => {
        const q = `SELECT * FROM "mytho"."rp_5m"./.*/ WHERE time >= ${load.t0 - 3_600_000}ms LIMIT 1`
        const body = (await (await fetch(`${influxd.url}/query?db=mytho&epoch=ms&q=${encodeURIComponent(q)}`)).json()) as { results: { series?: unknown[] }[] }
        return body.results[0]?.series?.length ? body.results[0].series : undefined
      },
      { what: '5-minute roll-ups of the drained readings' },
    )
    expect(rolled.length).toBeGreaterThan(0)
  })
})
