import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { makeTempDir } from '@mytho/testing'

/*
 * Issue #19, finding 5: dashboards, read as Grafana and Prometheus would. No Grafana runs here, so its provisioning
 * is checked by reading it; every panel's PromQL is parsed by Prometheus's own promtool (as a recording rule), and
 * every metric a panel reads is one the code exports: renaming a metric breaks this test rather than leaving an
 * empty panel in the operations room.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const grafanaDir = join(root, 'deploy/observability/grafana')
const dashboardsDir = join(grafanaDir, 'dashboards')

interface Target {
  expr: string
  datasource?: { type: string; uid: string }
}
interface Panel {
  title: string
  type: string
  datasource?: { type: string; uid: string }
  targets?: Target[]
}
interface Dashboard {
  uid: string
  title: string
  timezone: string
  panels: Panel[]
}
interface Service {
  image?: string
  profiles?: string[]
  read_only?: boolean
  tmpfs?: string[]
  cap_drop?: string[]
  security_opt?: string[]
  ports?: string[]
  volumes?: string[]
  secrets?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, unknown>
  deploy?: { resources?: { limits?: { memory?: string } } }
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  secrets?: Record<string, { file?: string; environment?: string }>
  volumes: Record<string, unknown>
}
const datasources = parse(readFileSync(join(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
  apiVersion: number
  datasources: { name: string; uid: string; type: string; url: string; access: string; isDefault?: boolean }[]
}
const providers = parse(readFileSync(join(grafanaDir, 'provisioning/dashboards/mytho.yml'), 'utf8')) as {
  apiVersion: number
  providers: { name: string; type: string; allowUiUpdates?: boolean; options: { path: string } }[]
}
const dashboards = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, dashboard: JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as Dashboard }))
const panels = dashboards.flatMap(({ file, dashboard }) => dashboard.panels.map((panel) => ({ file, panel })))
const exprs = panels.flatMap(({ file, panel }) => (panel.targets ?? []).map((t) => ({ where: `${file}: ${panel.title}`, expr: t.expr })))

/** Every source file of ours (no tests), where metrics are named. */
function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((e) => {
    const p = join(folder, e.name)
    if (e.isDirectory()) return ['node_modules', 'test', 'dist', 'deploy', 'web'].includes(e.name) ? [] : sources(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

/** `name` as the code registers it: itself, or the histogram it is a series of (`_bucket`, `_sum`, `_count`). */
const registeredAs = (name: string, code: string): boolean =>
  code.includes(`'${name}'`) || (/_(bucket|sum|count)$/.test(name) && code.includes(`'${name.replace(/_(bucket|sum|count)$/, '')}'`))

/** Vietnamese first, then English: "Độ trễ ghi CSDL / Storage write latency". */
const VIETNAMESE = /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹàáèéìíòóùúý]/i

describe('Grafana in the observability profile', () => {
  it('provisions Prometheus as its one data source, by the uid every panel names', () => {
    expect(datasources.apiVersion).toBe(1)
    expect(datasources.datasources).toHaveLength(1)
    const [ds] = datasources.datasources
    expect(ds).toMatchObject({ type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090', isDefault: true })
    expect(compose.services['prometheus'], 'the data source is a service of this file').toBeDefined()
    expect(panels.length).toBeGreaterThanOrEqual(15)
    for (const { file, panel } of panels) {
      expect(panel.datasource, `${file}: ${panel.title}`).toEqual({ type: 'prometheus', uid: ds!.uid })
      for (const t of panel.targets ?? []) expect(t.datasource, `${file}: ${panel.title}`).toEqual({ type: 'prometheus', uid: ds!.uid })
    }
  })

  it('loads the dashboards from the folder compose mounts, read-only in the UI', () => {
    expect(providers.apiVersion).toBe(1)
    const [provider] = providers.providers
    expect(provider).toMatchObject({ type: 'file', allowUiUpdates: false })
    const volumes = compose.services['grafana']!.volumes ?? []
    expect(volumes).toContain(`./deploy/observability/grafana/dashboards:${provider!.options.path}:ro`)
    expect(volumes).toContain('./deploy/observability/grafana/provisioning:/etc/grafana/provisioning:ro')
  })

  it('has dashboards with unique uids, shown in Asia/Ho_Chi_Minh, every title Vietnamese first, then English', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(['operations.json', 'pipeline.json'])
    const uids = dashboards.map((d) => d.dashboard.uid)
    expect(new Set(uids).size).toBe(uids.length)
    for (const { dashboard } of dashboards) expect(dashboard.timezone, dashboard.uid).toBe('Asia/Ho_Chi_Minh')
    const titles = [...dashboards.map((d) => d.dashboard.title), ...panels.map((p) => p.panel.title)]
    for (const title of titles) {
      const [vi, en, ...rest] = title.split(' / ')
      expect(rest, title).toEqual([])
      expect(vi, title).toMatch(VIETNAMESE)
      expect(en, title).toMatch(/^[A-Z][\x20-\x7e→]*$/)
    }
  })

  it('every panel query is PromQL that promtool parses', () => {
    expect(exprs.length).toBeGreaterThanOrEqual(20)
    // Each query as a recording rule: `promtool check rules` parses its expression (and names the bad one).
    const rules = { groups: [{ name: 'dashboards', rules: exprs.map((e, i) => ({ record: `mytho:dashboard_query:${i}`, expr: e.expr })) }] }
    const tmp = makeTempDir('mytho-grafana-')
    try {
      const file = join(tmp.path, 'dashboard-queries.yml')
      writeFileSync(file, stringify(rules))
      expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain(`SUCCESS: ${exprs.length} rules found`)
      // and a broken one is refused, so the check above means something
      writeFileSync(file, stringify({ groups: [{ name: 'bad', rules: [{ record: 'mytho:bad', expr: 'sum(rate(mytho_x[5m])' }] }] }))
      expect(() => execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8', stdio: 'pipe' })).toThrow()
    } finally {
      tmp.cleanup()
    }
  })

  it('reads only metrics the code exports, and shows what the operations room and the engineer on call need', () => {
    const code = sources(root)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n')
    const used = new Set(exprs.flatMap((e) => [...e.expr.matchAll(/\bmytho_[a-z0-9_]+/g)].map((m) => m[0])))
    for (const name of used) expect(registeredAs(name, code), name).toBe(true)
    // finding 5's list: pipeline rates and rejections, spool depth and age, storage write latency, publish→browser
    // latency, broker connections and refusals, incidents by severity, sign-ins and lockouts, HTTP metrics
    for (const name of [
      'mytho_ingest_readings_accepted_total',
      'mytho_ingest_readings_rejected_total',
      'mytho_ingest_spool_depth',
      'mytho_ingest_spool_oldest_age_seconds',
      'mytho_ingest_write_seconds_bucket',
      'mytho_api_push_latency_seconds_bucket',
      'mytho_mqtt_connected_clients',
      'mytho_mqtt_connections_refused_total',
      'mytho_incidents_active',
      'mytho_incidents_unacknowledged_oldest_seconds',
      'mytho_api_signins_total',
      'mytho_api_signin_lockouts_total',
      'mytho_api_http_request_duration_seconds_bucket',
      'mytho_api_http_request_duration_seconds_count',
    ])
      expect(used, name).toContain(name)
    // latencies from their histograms' buckets
    for (const h of ['mytho_ingest_write_seconds', 'mytho_api_push_latency_seconds', 'mytho_api_http_request_duration_seconds'])
      expect(
        exprs.some((e) => e.expr.includes('histogram_quantile(') && e.expr.includes(`${h}_bucket`)),
        h,
      ).toBe(true)
  })

  it('runs hardened like the other services, its admin password from a Docker secret, nobody in without signing in', () => {
    const g = compose.services['grafana']!
    expect(g.profiles).toEqual(['observability'])
    // a patch release, never a floating tag
    expect(g.image).toMatch(/^grafana\/grafana-oss:\d+\.\d+\.\d+$/)
    expect(g.read_only).toBe(true)
    expect(g.tmpfs?.some((t) => t.startsWith('/tmp'))).toBe(true)
    expect(g.cap_drop).toEqual(['ALL'])
    expect(g.security_opt).toContain('no-new-privileges:true')
    expect(g.deploy?.resources?.limits?.memory).toMatch(/^\d+[mg]$/)
    // where it writes (read_only root): its own named volume
    expect(g.volumes).toContain('grafana-data:/var/lib/grafana')
    expect(Object.keys(compose.volumes)).toContain('grafana-data')
    for (const p of g.ports ?? []) expect(p.startsWith('127.0.0.1:'), p).toBe(true)
    expect(Object.keys(g.depends_on ?? {})).toContain('prometheus')

    const env = g.environment ?? {}
    expect(env['GF_AUTH_ANONYMOUS_ENABLED']).toBe('false')
    expect(env['GF_USERS_ALLOW_SIGN_UP']).toBe('false')
    // the password itself never in the environment (docker inspect shows it): only the file Docker mounts
    expect(env['GF_SECURITY_ADMIN_PASSWORD']).toBeUndefined()
    const file = env['GF_SECURITY_ADMIN_PASSWORD__FILE']
    expect(file).toMatch(/^\/run\/secrets\/[a-z_]+$/)
    const secret = file!.slice('/run/secrets/'.length)
    expect(g.secrets).toContain(secret)
    expect(compose.secrets?.[secret], `top-level secrets: ${secret}`).toBeDefined()
    for (const [k, v] of Object.entries(env)) expect(/PASSWORD|SECRET|TOKEN/.test(k) && !k.endsWith('__FILE') ? v : '', k).toBe('')
  })
})
