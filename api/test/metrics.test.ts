import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { CITY_BOUNDS } from '@mytho/schema'
import { createMetricsRegistry, createMetricsServer } from '@mytho/runtime'
import type { Api } from '../src/api.ts'
import { registerApiMetrics } from '../src/metrics.ts'
import { startSecuredApi } from './auth-harness.ts'
import { startLivePlatform, type LivePlatform } from './live-harness.ts'

/*
 * Issue #19, finding 5: the API's /metrics as Prometheus scrapes it, after real traffic: the publish→browser latency
 * of a reading a real Socket.IO client received, HTTP requests by route template, sign-ins by outcome and lockouts.
 */

/** The API's metrics served on their own port (as withMetrics does with METRICS_PORT); returns a scrape. */
async function metricsOf(api: Api): Promise<() => Promise<string>> {
  const registry = createMetricsRegistry('api')
  registerApiMetrics(registry, api)
  const server = createMetricsServer({ port: 0, host: '127.0.0.1' }, registry)
  const { port } = await server.start()
  onTestFinished(() => server.stop())
  return async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
}

/** The value of the sample `name` with exactly these labels (service="api" added), whatever their order; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries({ ...labels, service: 'api' }).sort())
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const got = [...m[2]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]])
    if (JSON.stringify(got.sort()) === want) return Number(m[3])
  }
  return undefined
}

/** Prometheus's own linter: it prints each problem and exits non-zero. */
const promtoolProblems = (text: string) => execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })

describe('API /metrics: push latency and HTTP requests on the live platform', () => {
  let p: LivePlatform
  beforeAll(async () => {
    p = await startLivePlatform()
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('times a reading from the ingest to a real browser, in a histogram that starts at 0', async () => {
    const scrape = await metricsOf(p.api)
    const before = await scrape()
    expect(before).toMatch(/# TYPE mytho_api_push_latency_seconds histogram/)
    expect(sample(before, 'mytho_api_push_latency_seconds_count')).toBe(0)
    expect(sample(before, 'mytho_api_push_latency_seconds_bucket', { le: '0.005' })).toBe(0)
    expect(sample(before, 'mytho_api_push_latency_seconds_bucket', { le: '10' })).toBe(0)

    const browser = p.browser({ bbox: [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north], zoom: 13 })
    await browser.waitForSnapshots(1)
    const gauge = await p.device('wl-hydro-station')
    await p.publish(gauge, 'wl-hydro-station', { kind: 'water_level', ts: Date.now(), waterLevelCm: 131.5 })
    await browser.waitForUpdate('wl-hydro-station', (d) => d.lastReading?.fields['waterLevelCm'] === 131.5)

    const after = await scrape()
    expect(sample(after, 'mytho_api_push_latency_seconds_count')).toBe(1)
    // One push, of a reading the test just sent: some positive time, counted under +Inf.
    expect(sample(after, 'mytho_api_push_latency_seconds_sum')).toBeGreaterThan(0)
    expect(sample(after, 'mytho_api_push_latency_seconds_bucket', { le: '+Inf' })).toBe(1)
    expect(promtoolProblems(after)).toBe('')
  })

  it('counts HTTP requests by method, route template and status class, never by the raw URL', async () => {
    const scrape = await metricsOf(p.api)
    const count = (text: string, route: string, status: string, method = 'GET') =>
      sample(text, 'mytho_api_http_request_duration_seconds_count', { method, route, status })
    expect((await fetch(`${p.url}/api/v1/devices/wl-hydro-station`)).status).toBe(200)
    expect((await fetch(`${p.url}/api/v1/devices/wl-tan-long`)).status).toBe(200)
    expect((await fetch(`${p.url}/api/v1/devices/no-such-gauge`)).status).toBe(404)
    expect((await fetch(`${p.url}/api/v1/no-such-route-probe`)).status).toBe(404)
    expect((await fetch(`${p.url}/api/v1/health`)).status).toBe(200)

    const text = await scrape()
    expect(count(text, '/api/v1/devices/:id', '2xx')).toBe(2)
    expect(count(text, '/api/v1/devices/:id', '4xx')).toBe(1)
    expect(count(text, '/api/v1/*', '4xx')).toBe(1)
    expect(count(text, '/api/v1/health', '2xx')).toBe(1)
    expect(text).toMatch(/# TYPE mytho_api_http_request_duration_seconds histogram/)
    // a device id or a made-up path would be one series per caller's whim
    for (const raw of ['wl-hydro-station', 'no-such-gauge', 'no-such-route-probe']) expect(text).not.toContain(raw)
    expect(promtoolProblems(text)).toBe('')
  })
})

describe('API /metrics: sign-ins', () => {
  it('counts sign-ins by outcome from 0, and a lockout once per wait however many attempts it holds up', async () => {
    const clock = { now: Date.UTC(2026, 11, 5, 4, 0) }
    const s = await startSecuredApi({ LOGIN_MAX_FAILURES: 2 }, undefined, undefined, () => clock.now)
    const scrape = await metricsOf(s.api)
    const outcome = (text: string, o: string) => sample(text, 'mytho_api_signins_total', { outcome: o })
    const lockouts = (text: string) => sample(text, 'mytho_api_signin_lockouts_total')

    const before = await scrape()
    for (const o of ['success', 'rejected', 'throttled', 'invalid', 'error']) expect(outcome(before, o), o).toBe(0)
    expect(lockouts(before)).toBe(0)

    expect((await s.login('operator1')).status).toBe(200)
    expect((await s.login('operator1', 'not the password 1')).status).toBe(401)
    // the second failure of the pair starts its first wait (LOGIN_MAX_FAILURES=2); the next two are held up
    expect((await s.login('operator1', 'not the password 2')).status).toBe(401)
    expect((await s.login('operator1', 'not the password 3')).status).toBe(429)
    expect((await s.login('operator1')).status).toBe(429)
    const bad = await fetch(`${s.base}/auth/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'operator1' })
    expect(bad.status).toBe(415)

    let text = await scrape()
    expect(outcome(text, 'success')).toBe(1)
    expect(outcome(text, 'rejected')).toBe(2)
    expect(outcome(text, 'throttled')).toBe(2)
    expect(outcome(text, 'invalid')).toBe(1)
    expect(outcome(text, 'error')).toBe(0)
    expect(lockouts(text)).toBe(1)

    // after the wait, one more wrong password: a longer wait, a second lockout
    clock.now += 5_000
    expect((await s.login('operator1', 'not the password 4')).status).toBe(401)
    expect((await s.login('operator1')).status).toBe(429)
    text = await scrape()
    expect(lockouts(text)).toBe(2)
    expect(outcome(text, 'throttled')).toBe(3)
    expect(promtoolProblems(text)).toBe('')
  })
})
