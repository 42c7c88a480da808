import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerBrokerMetrics } from '@mytho/broker'
import { createMetricsRegistry, createMetricsServer } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { waitFor } from '@mytho/testing'
import { ingestHealthReport, registerIngestMetrics } from '../src/metrics.ts'
import { connectDevice, publishReading, startBroker, startIngest } from './pipeline.ts'

/** Prometheus scrapes of a real broker and ingest after real traffic. */
describe('/metrics of the broker and the ingest', () => {
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  let ingest: ReturnType<typeof startIngest>
  const stops: (() => Promise<void>)[] = []

  beforeAll(async () => {
    pipeline = await startBroker()
    store = createSqliteStore({ path: join(pipeline.dataDir, 'readings.sqlite') })
    ingest = startIngest(store, pipeline.mqttUrl, pipeline.dataDir)
    await ingest.start()
  })
  afterAll(async () => {
    for (const s of stops) await s()
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
  })

  const scrape = async (register: (r: ReturnType<typeof createMetricsRegistry>) => void, name: string) => {
    const registry = createMetricsRegistry(name)
    register(registry)
    const server = createMetricsServer({ port: 0, host: '127.0.0.1' }, registry)
    stops.push(() => server.stop())
    const { port } = await server.start()
    return async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  }

  it('counts what was received, accepted and rejected by reason, and who is connected', async () => {
    const id = 'rg-dao-thanh'
    // registered before the readings come, as a service registers its metrics before it starts
    const scrapeIngest = await scrape((r) => registerIngestMetrics(r, ingest), 'ingest')
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    await publishReading(device, id, { kind: 'rain', ts: Date.now() - 1000, rainMm: 1.5 })
    await publishReading(device, id, 'not json')
    await waitFor(() => ingest.writer.written >= 1 && ingest.writer.deadLettered >= 1, { what: 'both stored' })
    const ingestText = await scrapeIngest()
    expect(ingestText).toMatch(/mytho_ingest_readings_accepted_total\{service="ingest"\} 1\b/)
    expect(ingestText).toMatch(/mytho_ingest_readings_rejected_total\{reason="not_json",service="ingest"\} 1\b/)
    expect(ingestText).toMatch(/mytho_ingest_readings_written_total\{service="ingest"\} 1\b/)
    expect(ingestText).toMatch(/mytho_ingest_storage_up\{service="ingest"\} 1\b/)
    expect(ingestText).toMatch(/mytho_ingest_write_seconds_count\{service="ingest"\} [1-9]/)
    expect(ingestText).toMatch(/# TYPE mytho_ingest_write_seconds histogram/)
    expect(ingestText).toMatch(/mytho_ingest_write_seconds_bucket\{le="\+Inf",service="ingest"\} [1-9]/)
    expect(Number(/mytho_ingest_write_seconds_sum\{service="ingest"\} ([0-9.e-]+)/.exec(ingestText)?.[1])).toBeGreaterThan(0)
    expect(ingestText).toMatch(/mytho_incidents_active\{severity="critical",service="ingest"\} 0\b/)
    // what Prometheus's MythoCriticalIncidentUnacknowledged reads (deploy/observability/alerts.yml); none waits here
    expect(ingestText).toMatch(/mytho_incidents_unacknowledged_oldest_seconds\{severity="critical",service="ingest"\} 0\b/)
    const brokerText = await (await scrape((r) => registerBrokerMetrics(r, pipeline.broker), 'broker'))()
    expect(brokerText).toMatch(/mytho_mqtt_connected_clients\{service="broker"\} 2\b/)
    // Prometheus's own linter finds nothing in either (issue #19): it prints each problem and exits non-zero
    for (const text of [ingestText, brokerText]) expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('')
    await device.endAsync()
  })

  it('reports the pipeline as ready for the health check while it is connected and storing', () => {
    const report = ingestHealthReport(ingest)
    expect(report.ready).toBe(true)
    expect(report.detail).toMatchObject({ service: 'ingest', status: 'ok', storage: { up: true } })
  })
})
