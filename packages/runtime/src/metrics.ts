import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { once, type Service } from './service.ts'

/*
 * Prometheus metrics for every service: prom-client (the de-facto Node client) owns the exposition format and
 * process metrics; services describe their own numbers as gauges/counters that read the stats objects they
 * already keep (`collect`), so nothing on a hot path changes to be observable.
 */

export type { Registry } from 'prom-client'
/** Latency histograms are prom-client's own: buckets observed as they happen, not rebuilt from a stats object. */
export { Histogram } from 'prom-client'

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry, prefix: 'mytho_' })
  // prom-client names three gauges *_total, which Prometheus reserves for counters (`promtool check metrics` fails on
  // them, and rate() would be applied to them by anyone trusting the suffix). They are the sums of the per-type gauges
  // beside them (sum(mytho_nodejs_active_handles) is the same number), so they are dropped.
  for (const name of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`mytho_nodejs_active_${name}_total`)
  return registry
}

/** A gauge whose value is read at scrape time; `read` returns one value, or values by label. */
export function gaugeFrom(registry: Registry, name: string, help: string, read: () => number | Record<string, number>, labelName = 'kind'): void {
  new Gauge({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      const v = read()
      this.reset()
      if (typeof v === 'number') this.set(v)
      else for (const [k, n] of Object.entries(v)) this.set({ [labelName]: k }, n)
    },
  })
}

/**
 * A monotonically growing count kept elsewhere (a stats object), exposed as a Prometheus counter.
 * prom-client counters only go up by inc(), so the difference since the last scrape is added.
 */
export function counterFrom(registry: Registry, name: string, help: string, read: () => number | Record<string, number>, labelName = 'kind'): void {
  const last = new Map<string, number>()
  new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      const v = read()
      const entries: [string, number][] = typeof v === 'number' ? [['', v]] : Object.entries(v)
      for (const [k, n] of entries) {
        const delta = n - (last.get(k) ?? 0)
        // A label seen for the first time goes out at its value, 0 included: increase() over a series that appears
        // only at its first increment misses that increment (the first storage error, the first rejection).
        if (delta > 0 || !last.has(k)) k === '' ? this.inc(Math.max(0, delta)) : this.inc({ [labelName]: k }, Math.max(0, delta))
        last.set(k, n)
      }
    },
  })
}

/**
 * What a service says of itself on GET /health: `ready` false answers 503, so a container health check (compose's)
 * and a load balancer see a service that runs but cannot do its job; `detail` is the JSON body either way.
 */
export interface HealthReport {
  ready: boolean
  detail: unknown
}

/**
 * Serves GET /metrics on its own port, for services without an HTTP server of their own (broker, ingest), and GET
 * /health when the service reports one.
 */
export function createMetricsServer(opts: { port: number; host?: string }, registry: Registry, health?: () => HealthReport) {
  let server: Server | undefined
  return {
    async start(): Promise<{ port: number }> {
      const s = createServer((req, res) => {
        if (health && req.method === 'GET' && req.url?.split('?')[0] === '/health') {
          let report: HealthReport
          try {
            report = health()
          } catch (err) {
            report = { ready: false, detail: { error: (err as Error).message } }
          }
          res.statusCode = report.ready ? 200 : 503
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify(report.detail))
          return
        }
        if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
          registry
            .metrics()
            .then((text) => {
              res.setHeader('content-type', registry.contentType)
              res.end(text)
            })
            .catch((err: unknown) => {
              res.statusCode = 500
              res.end(String((err as Error).message))
            })
          return
        }
        res.statusCode = 404
        res.end('not found: try /metrics\n')
      })
      server = s
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve())
      })
      return { port: (s.address() as AddressInfo).port }
    },
    stop: once(async () => {
      const s = server
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }),
  }
}

/**
 * Wraps a service so a metrics server runs beside it when `port` is set (started after, stopped before it), with the
 * service's GET /health when it gives `health`.
 */
export function withMetrics<T>(
  name: string,
  listen: { METRICS_PORT?: number | undefined; METRICS_HOST?: string | undefined },
  service: Service<T>,
  register: (registry: Registry) => void,
  health?: () => HealthReport,
): Service<T> {
  const port = listen.METRICS_PORT
  if (port === undefined) return service
  const registry = createMetricsRegistry(name)
  register(registry)
  const server = createMetricsServer({ port, host: listen.METRICS_HOST ?? '127.0.0.1' }, registry, health)
  return {
    async start() {
      const started = await service.start()
      await server.start()
      return started
    },
    async stop() {
      await server.stop()
      await service.stop()
    },
  }
}
