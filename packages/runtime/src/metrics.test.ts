import { execFileSync } from 'node:child_process'
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
  it('passes `promtool check metrics`, and a labelled counter is 0 before its first increment (issue #19)', async () => {
    const registry = createMetricsRegistry('api')
    const byReason: Record<string, number> = { storage_unavailable: 0 }
    counterFrom(registry, 'mytho_storage_errors_total', 'Storage errors by reason', () => byReason, 'reason')
    gaugeFrom(registry, 'mytho_live_clients', 'Browsers on the live push', () => 2)
    const text = await registry.metrics()
    // increase() needs the series before the first error, or it misses that error
    expect(text).toContain('mytho_storage_errors_total{reason="storage_unavailable",service="api"} 0')
    // promtool prints each problem and exits non-zero (prom-client's nodejs_active_*_total gauges were three)
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('')
    byReason['storage_unavailable'] = 1
    expect(await registry.metrics()).toContain('mytho_storage_errors_total{reason="storage_unavailable",service="api"} 1')
  })
  it('answers GET /health with the service’s own report: 200 while ready, 503 when not (compose’s health checks read it)', async () => {
    let status = 'ok'
    const server = createMetricsServer({ port: 0, host: '127.0.0.1' }, createMetricsRegistry('ingest'), () => ({
      ready: status === 'ok' || status === 'degraded',
      detail: { status },
    }))
    stops.push(() => server.stop())
    const { port } = await server.start()
    const get = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`)
      return { code: res.status, body: (await res.json()) as unknown }
    }
    expect(await get()).toEqual({ code: 200, body: { status: 'ok' } })
    status = 'blocked'
    expect(await get()).toEqual({ code: 503, body: { status: 'blocked' } })
  })
})
