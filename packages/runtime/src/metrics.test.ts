import { afterEach, describe, expect, it } from 'vitest'
import { counterFrom, createMetricsRegistry, createMetricsServer, gaugeFrom } from './metrics.ts'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const s of stops.splice(0)) await s()
})

describe('metrics', () => {
  it('serves Prometheus text with gauges and counters read from stats objects at scrape time', async () => {
    const registry = createMetricsRegistry('ingest')
    const stats = { received: 3, byReason: { not_json: 2, out_of_range: 1 } as Record<string, number>, depth: 7 }
    counterFrom(registry, 'mytho_readings_received_total', 'Messages received', () => stats.received)
    counterFrom(registry, 'mytho_readings_rejected_total', 'Rejected by reason', () => stats.byReason, 'reason')
    gaugeFrom(registry, 'mytho_spool_depth', 'Readings waiting in the spool', () => stats.depth)
    const server = createMetricsServer({ port: 0, host: '127.0.0.1' }, registry)
    stops.push(() => server.stop())
    const { port } = await server.start()
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    let text = await scrape()
    expect(text).toContain('mytho_readings_received_total{service="ingest"} 3')
    expect(text).toContain('mytho_readings_rejected_total{reason="not_json",service="ingest"} 2')
    expect(text).toContain('mytho_spool_depth{service="ingest"} 7')
    expect(text).toContain('mytho_process_resident_memory_bytes')
    stats.received = 10
    stats.depth = 0
    text = await scrape()
    expect(text).toContain('mytho_readings_received_total{service="ingest"} 10')
    expect(text).toContain('mytho_spool_depth{service="ingest"} 0')
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404)
  })
})
