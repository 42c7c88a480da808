import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/*
 * Issue #19, finding 5: metrics without the rest of monitoring. The observability profile's Prometheus config and
 * alert rules are checked by Prometheus's own promtool (Debian `prometheus`, installed by .ci/run), each alert is
 * played against series that must and must not fire it (alerts.test.yml), and every metric an alert reads is one
 * the code exports, so renaming a metric breaks this test rather than silently muting an alert.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'deploy/observability')
const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: dir, encoding: 'utf8' })

interface Service {
  profiles?: string[]
  image?: string
  ports?: string[]
  volumes?: string[]
  environment?: Record<string, string>
  command?: string[]
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }
type ScrapeConfig = { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }
const prometheus = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as ScrapeConfig
/** Profile scale's (MYTHO_PROMETHEUS_CONFIG): every node under its role's job. */
const prometheusScale = parse(readFileSync(join(dir, 'prometheus-scale.yml'), 'utf8')) as ScrapeConfig
const targetsOf = (c: ScrapeConfig) => new Set(c.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets)))

/** Every source file of ours (no tests), to find where a metric is exported. */
function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((e) => {
    const p = join(folder, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'test' || e.name === 'dist' ? [] : sources(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

describe('observability profile (Prometheus)', () => {
  it('promtool accepts the config and its rules, and every alert fires on its series and not on healthy ones', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS')
    expect(promtool('check', 'config', 'prometheus-scale.yml')).toContain('SUCCESS')
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS')
  })

  it('scrapes every service that serves /metrics, by its compose name and METRICS_PORT: one server, and every node of profile scale', () => {
    const serving = Object.entries(compose.services).filter(([, s]) => s.environment?.['METRICS_PORT'] !== undefined)
    expect(serving.length).toBeGreaterThanOrEqual(6)
    const one = targetsOf(prometheus)
    const scale = targetsOf(prometheusScale)
    for (const [name, s] of serving) {
      const target = `${name}:${s.environment!['METRICS_PORT']}`
      // the default profile's services on one server; every service (the second nodes too) on a cluster
      if (s.profiles === undefined) expect(one, name).toContain(target)
      expect(scale, name).toContain(target)
    }
    // one server scrapes nothing that only profile scale starts (it would read as down and wake someone)
    for (const t of one) expect(compose.services[t.split(':')[0]!]?.profiles, t).toBeUndefined()
    for (const t of scale) expect(compose.services[t.split(':')[0]!], t).toBeDefined()
    // the jobs the service-down alert names are the roles, in both configs
    const jobs = (c: ScrapeConfig) => c.scrape_configs.map((j) => j.job_name).sort()
    expect(jobs(prometheus)).toEqual(['api', 'broker'])
    expect(jobs(prometheusScale)).toEqual(['api', 'broker', 'ingest'])
    // compose's own ${…} interpolation, kept as text here
    expect(compose.services['prometheus']!.command).toContain(`--config.file=/etc/prometheus/$${'{'}MYTHO_PROMETHEUS_CONFIG:-prometheus.yml}`)
  })

  it('reads only metrics the code exports', () => {
    const exported = sources(root)
      .filter((f) => !f.includes('/deploy/'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n')
    const used = new Set([...readFileSync(join(dir, 'alerts.yml'), 'utf8').matchAll(/\bmytho_[a-z0-9_]+/g)].map((m) => m[0]))
    expect(used.size).toBeGreaterThanOrEqual(5)
    // a histogram's series (`_bucket`, `_sum`, `_count`) are registered under the histogram's name
    for (const name of used) expect(exported.includes(`'${name}'`) || exported.includes(`'${name.replace(/_(bucket|sum|count)$/, '')}'`), name).toBe(true)
  })

  it('runs in its own profile, with the config mounted read-only and its UI on this host only', () => {
    const s = compose.services['prometheus']!
    expect(s.profiles).toEqual(['observability'])
    expect(s.volumes).toContain('./deploy/observability:/etc/prometheus:ro')
    for (const p of s.ports ?? []) expect(p.startsWith('127.0.0.1:'), p).toBe(true)
  })
})
