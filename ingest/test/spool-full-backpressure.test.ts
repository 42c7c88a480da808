import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DemoSecrets } from '@mytho/runtime'
import { waitFor, type Influxd } from '@mytho/testing'
import type { Ingest } from '../src/ingest.ts'
import { countStored, recordCounts, startInfluxPlatform, startLoad, watchHealth, type InfluxPlatform } from './fault-load.ts'

/*
 * A tiny spool (500 readings) and InfluxDB down under steady load: the spool fills, the ingest stops
 * acknowledging and stops reading (health `blocked`), the broker keeps the backlog in the ingest's
 * session queue; once InfluxDB is back everything acknowledged to the devices is stored, once.
 */
describe('spool full: backpressure, never a drop', () => {
  let platform: InfluxPlatform | undefined
  let influxd: Influxd
  let ingest: Ingest
  let mqttUrl: string
  let secrets: DemoSecrets

  beforeAll(async () => {
    platform = await startInfluxPlatform('mytho-spool-full-', { INGEST_SPOOL_MAX_READINGS: '500', INGEST_HEALTH_INTERVAL_MS: '300' })
    ;({ influxd, ingest, mqttUrl, secrets } = platform)
  })
  afterAll(async () => {
    await platform?.stop()
  })

  it('stops acknowledging when the spool is full and stores everything once storage returns', async () => {
    const health = await watchHealth(mqttUrl, secrets)
    const load = await startLoad(mqttUrl, secrets, { devices: 20, ratePerDevice: 50 })
    await waitFor(() => ingest.writer.written >= 1000 || undefined, { timeoutMs: 15_000, what: 'readings flowing' })

    await influxd.pause()
    await waitFor(() => health.latest()?.status === 'blocked' || undefined, { timeoutMs: 15_000, what: 'health to say blocked' })
    expect(ingest.writer.spoolFull).toBe(true)
    const ackedWhenFull = ingest.mqtt.acked
    // Devices keep publishing; the broker takes them into the ingest's queue. Wait for 2,000 more.
    const published = load.stats.published
    await waitFor(() => load.stats.published - published >= 2000 || undefined, { timeoutMs: 15_000, what: 'more load while full' })
    const ackedStillFull = ingest.mqtt.acked
    const spoolDepth = ingest.spool!.items
    const heldByIngest = ingest.mqtt.received - ingest.mqtt.acked
    const devicesUnacked = load.unacknowledged()

    await influxd.resume()
    await new Promise((r) => setTimeout(r, 500))
    const counts = await load.stop()
    const { stored, distinct } = await waitFor(
      async () => {
        const c = await countStored(influxd.url, load.t0)
        return c.stored >= counts.acknowledged ? c : undefined
      },
      { timeoutMs: 25_000, what: 'the backlog to reach storage' },
    )
    await waitFor(() => health.latest()?.status === 'ok' || undefined, { what: 'health back to ok' })
    recordCounts('spool-full', {
      ...counts,
      stored,
      distinct,
      spoolCapacity: 500,
      spoolDepth,
      ingestAckedWhileFull: ackedStillFull - ackedWhenFull,
      heldByIngest,
      devicesUnacked,
    })
    await health.stop()

    expect(ackedStillFull).toBe(ackedWhenFull) // not one acknowledgement while the spool was full
    // …and the broker held the devices' PUBACKs too, so the backlog waited in the devices' own queues.
    expect(devicesUnacked).toBeGreaterThanOrEqual(1500)
    expect(spoolDepth).toBeLessThanOrEqual(500)
    expect([...health.seen]).toEqual(expect.arrayContaining(['ok', 'degraded', 'blocked']))
    expect(counts.errors).toBe(0)
    expect(counts.acknowledged).toBe(counts.published)
    expect(stored).toBe(counts.acknowledged)
    expect(distinct).toBe(stored)
  }, 60_000)
})
