import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import type { z } from 'zod'
import { apiEnv } from '@mytho/api'
import { brokerEnv } from '@mytho/broker'
import { ingestEnv } from '@mytho/ingest'
import { parseEnv } from '@mytho/runtime'
import { makeTestCertificate } from '@mytho/testing'
import { makeSecretsDir, secretOnHost } from './secrets-dir.ts'

/*
 * Issue #19, finding 2 (everything cleartext) and the secrets of finding 4, read from the compose file as an operator
 * deploys it (no Docker engine here): only the proxy publishes HTTP(S) and only the brokers' TLS listener MQTT; the
 * API knows it is behind the proxy; no password or token sits in an `environment:`, every service gets its own
 * secrets and only those, and deploy/make-secrets.sh makes every file they name; the Caddyfile is checked by the
 * real caddy. api/test/behind-caddy.test.ts runs that Caddyfile in front of the API.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const CADDYFILE = join(root, 'deploy/caddy/Caddyfile')

interface Service {
  image?: string
  command?: string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  secrets?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, unknown>
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  secrets: Record<string, { file?: string }>
}
const services = Object.entries(compose.services)

/** .env.example as an installer fills it in (compose.test.ts does the same): the InfluxDB secrets still there generated. */
const dotEnv: Record<string, string> = Object.fromEntries(
  readFileSync(join(root, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
    .map(([k, v]) => [k!, /(PASSWORD|TOKEN|SECRET)$/.test(k!) && v !== '' ? randomBytes(24).toString('base64url') : v!]),
)
/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} against that .env; nested ones from the inside out. */
const defaults = (v: string): string => {
  const next = String(v).replace(
    /\$\{([A-Z0-9_]+)(?:(:-|:\?)((?:[^${}]|\{[^${}]*\})*))?\}/g,
    (_m, name: string, _op?: string, arg?: string) => (dotEnv[name] || arg) ?? '',
  )
  return next === String(v) ? next : defaults(next)
}

/** A published port: where on the host (undefined: every interface) and which container port. */
function published(p: string): { hostIp: string | undefined; container: number } {
  const parts = defaults(p).split(':')
  return { hostIp: parts.length === 3 ? parts[0] : undefined, container: Number(parts.at(-1)!.split('/')[0]) }
}

const secrets = makeSecretsDir({ cluster: true })
afterAll(() => secrets.remove())
const envOnHost = (s: Service) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, secretOnHost(defaults(v), compose.secrets, secrets.dir)]))

/**
 * Variables the InfluxDB work of issue #19 (finding 1: per-service tokens, created in the influxdb block) owns; they
 * move to Docker secrets there. Until then they are the only secrets allowed in an environment.
 */
const INFLUX_OWNED = /^(INFLUX_|DOCKER_INFLUXDB_)/
/** A name that holds a password, token or key, whatever the service. */
const SECRET_NAME = /(PASSWORD|TOKEN|SECRET|_KEY|REDIS_URL)$/

describe('TLS by default (issue #19, finding 2)', () => {
  it('publishes on every interface only the proxy’s HTTPS and HTTP (redirect) and the brokers’ MQTT over TLS', () => {
    const open = services.flatMap(([name, s]) =>
      (s.ports ?? [])
        .map(published)
        .filter((p) => p.hostIp === undefined || !p.hostIp.startsWith('127.'))
        .map((p) => `${name}:${p.container}`),
    )
    expect(open.sort()).toEqual(['broker-2:8883', 'broker:8883', 'proxy:443', 'proxy:80'])
    // Plain MQTT, MQTT over WebSocket and the API's HTTP are not published at all, not even on loopback.
    const all = services.flatMap(([, s]) => (s.ports ?? []).map((p) => published(p).container))
    for (const port of [1883, 1884, 8083, 8080]) expect(all, String(port)).not.toContain(port)
  })

  it('the brokers listen for TLS on the published port, with the certificate and key from Docker secrets', () => {
    for (const name of ['broker', 'broker-2']) {
      const s = compose.services[name]!
      const env = parseEnv(brokerEnv, envOnHost(s))
      expect(
        s.ports!.map((p) => published(p).container),
        name,
      ).toEqual([env.MQTT_TLS_PORT])
      expect(s.environment!['MQTT_TLS_CERT'], name).toBe('/run/secrets/mqtt_tls_cert')
      expect(s.environment!['MQTT_TLS_KEY'], name).toBe('/run/secrets/mqtt_tls_key')
      // the certificate deploy/make-secrets.sh made is one a client can check against its CA
      expect(() => execFileSync('openssl', ['verify', '-CAfile', join(secrets.dir, 'mqtt-tls/ca.pem'), env.MQTT_TLS_CERT!], { stdio: 'pipe' })).not.toThrow()
      // service accounts only on the internal listener (broker/src/connection-origin.ts)
      expect(env.MQTT_SERVICE_NETS, name).toEqual([])
      expect(env.MQTT_INTERNAL_PORT, name).toBeDefined()
    }
  })

  it("the admin page's test line names the published TLS address and the CA that signed the broker's certificate", () => {
    for (const name of ['api', 'api-2']) {
      const env = parseEnv(apiEnv, envOnHost(compose.services[name]!))
      // .env.example leaves MQTT_PUBLIC_URL empty: MYTHO_SITE on the TLS port compose publishes, not 1883
      expect(env.MQTT_PUBLIC_URL, name).toBe(`mqtts://${dotEnv['MYTHO_SITE']}:${dotEnv['MQTT_TLS_PUBLIC_PORT']}`)
      expect(env.MQTT_PUBLIC_CA, name).toBe(readFileSync(join(secrets.dir, 'mqtt-tls/ca.pem'), 'utf8'))
    }
    // a site of several names (README, "HTTPS"): the first, and an address set in .env wins
    const urlWith = (env: Record<string, string>) => {
      const saved = { ...dotEnv }
      Object.assign(dotEnv, env)
      try {
        return parseEnv(apiEnv, envOnHost(compose.services['api']!)).MQTT_PUBLIC_URL
      } finally {
        Object.assign(dotEnv, saved)
      }
    }
    expect(urlWith({ MYTHO_SITE: 'map.mytho.local, 10.20.0.5', MQTT_TLS_PUBLIC_PORT: '18883' })).toBe('mqtts://map.mytho.local:18883')
    expect(urlWith({ MQTT_PUBLIC_URL: 'mqtts://mqtt.mytho.example.vn:8883' })).toBe('mqtts://mqtt.mytho.example.vn:8883')
  })

  it('the API nodes run behind the proxy (BEHIND_PROXY=true: Secure cookies, HSTS) on plain HTTP inside, and the proxy reaches them', () => {
    const proxy = compose.services['proxy']!
    expect(proxy.image).toMatch(/^caddy:2\.\d+\.\d+/)
    expect(proxy.volumes).toContain('./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro')
    const env = Object.fromEntries(Object.entries(proxy.environment ?? {}).map(([k, v]) => [k, defaults(v)]))
    for (const name of ['api', 'api-2']) {
      const api = parseEnv(apiEnv, envOnHost(compose.services[name]!))
      expect(api.BEHIND_PROXY, name).toBe(true)
      expect(api.HTTPS_CERT, name).toBeUndefined()
    }
    const api = parseEnv(apiEnv, envOnHost(compose.services['api']!))
    expect(env['MYTHO_API_UPSTREAMS']).toBe(`api:${api.HTTP_PORT}`)
    const broker = parseEnv(brokerEnv, envOnHost(compose.services['broker']!))
    expect(env['MYTHO_MQTT_WS_UPSTREAMS']).toBe(`broker:${broker.MQTT_WS_PORT}`)
    // every variable the proxy is given is one the Caddyfile reads, and the other way round (admin and ports aside)
    const read = new Set([...readFileSync(CADDYFILE, 'utf8').matchAll(/\{\$([A-Z0-9_]+)/g)].map((m) => m[1]!))
    for (const k of Object.keys(env)) expect(read, k).toContain(k)
    for (const k of read)
      if (!['CADDY_ADMIN', 'MYTHO_BIND', 'MYTHO_HTTP_PORT', 'MYTHO_HTTPS_PORT', 'MYTHO_TLS_CERT', 'MYTHO_TLS_KEY'].includes(k)) expect(env, k).toHaveProperty(k)
    expect(Object.keys(proxy.depends_on ?? {})).toContain('api')
  })

  it.each(['internal', 'files', 'acme'])('the Caddyfile validates with the real caddy, MYTHO_TLS=%s', (mode) => {
    const tmp = mkdtempSync(join(tmpdir(), 'mytho-caddy-validate-'))
    try {
      const env: Record<string, string> = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: tmp,
        XDG_DATA_HOME: join(tmp, 'data'),
        XDG_CONFIG_HOME: join(tmp, 'config'),
        MYTHO_TLS: mode,
        MYTHO_SITE: mode === 'acme' ? 'map.mytho.example.vn' : 'map.mytho.local, 10.20.0.5',
      }
      if (mode === 'files') {
        const made = makeTestCertificate(tmp, { cn: 'map.mytho.local' })
        env['MYTHO_TLS_CERT'] = made.cert
        env['MYTHO_TLS_KEY'] = made.key
      }
      const out = execFileSync('caddy', ['validate', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      expect(out).toContain('Valid configuration')
      const json = execFileSync('caddy', ['adapt', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const issuers = JSON.stringify((JSON.parse(json) as { apps: { tls?: unknown } }).apps.tls ?? {})
      if (mode === 'internal') expect(issuers).toContain('"module":"internal"')
      if (mode === 'files') expect(issuers).toContain(env['MYTHO_TLS_CERT'])
      if (mode === 'acme') expect(issuers).not.toContain('"module":"internal"')
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })

  it('a Caddyfile error fails validation (the check above can fail)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mytho-caddy-validate-'))
    try {
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: tmp,
        XDG_DATA_HOME: join(tmp, 'data'),
        XDG_CONFIG_HOME: join(tmp, 'config'),
        MYTHO_TLS: 'nonsense',
      }
      expect(() => execFileSync('caddy', ['validate', '--config', CADDYFILE, '--adapter', 'caddyfile'], { env, stdio: 'pipe' })).toThrow()
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})

describe('Docker secrets for every password and token (issue #19, finding 4)', () => {
  it('no password, token or key in any environment: only NAME_FILE=/run/secrets/…', () => {
    for (const [name, s] of services) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (INFLUX_OWNED.test(k)) continue
        if (/^\/run\/secrets\/[a-z0-9_]+$/.test(v)) continue
        // NAME_FILE (Grafana: NAME__FILE) of a secret names a Docker secret, never another file
        if (/_FILE$/.test(k)) expect(SECRET_NAME.test(k.replace(/_{1,2}FILE$/, '')), `${name} ${k}: ${v}`).toBe(false)
        if (k === 'MQTT_TLS_KEY' || k === 'MQTT_TLS_CERT') expect(v, `${name} ${k}`).toMatch(/^\/run\/secrets\//)
        else expect(SECRET_NAME.test(k), `${name}: ${k} holds a secret in the environment`).toBe(false)
        // nor a password inside a URL
        expect(defaults(v), `${name} ${k}`).not.toMatch(/:\/\/[^/@\s]*:[^/@\s]+@/)
      }
    }
  })

  it('every secret a service names exists at the top level, is used by it, and is referenced by no other service that does not need it', () => {
    const used = new Set<string>()
    for (const [name, s] of services) {
      const text = JSON.stringify([s.environment ?? {}, s.command ?? [], s.healthcheck ?? {}])
      const mounted = new Set(s.secrets ?? [])
      for (const secret of mounted) {
        expect(compose.secrets, `${name} → ${secret}`).toHaveProperty(secret)
        // given only what it reads: a secret no variable, command or health check of the service mentions is one too many
        expect(text, `${name} is given ${secret} but never reads it`).toContain(`/run/secrets/${secret}`)
        used.add(secret)
      }
      for (const m of text.matchAll(/\/run\/secrets\/([a-z0-9_]+)/g)) expect(mounted, `${name} reads ${m[1]} without being given it`).toContain(m[1])
    }
    expect([...used].sort()).toEqual(Object.keys(compose.secrets).sort())
  })

  it('deploy/make-secrets.sh makes every file, in a folder git and the image build both ignore; the services start on them', () => {
    for (const [secret, { file }] of Object.entries(compose.secrets)) {
      expect(file, secret).toMatch(/^\.\/secrets\//)
      expect(existsSync(secretOnHost(`/run/secrets/${secret}`, compose.secrets, secrets.dir)), `${file} made`).toBe(true)
    }
    expect(
      execFileSync('git', ['check-ignore', 'secrets/admin_password', 'secrets/mqtt-tls/key.pem'], { cwd: root, encoding: 'utf8' }).trim().split('\n'),
    ).toHaveLength(2)
    expect(readFileSync(join(root, '.dockerignore'), 'utf8')).toMatch(/^\*\*\/secrets$/m)
    const schemas: Record<string, z.ZodObject> = { broker: brokerEnv, ingest: ingestEnv, api: apiEnv }
    for (const [name, schema] of Object.entries(schemas)) expect(() => parseEnv(schema, envOnHost(compose.services[name]!)), name).not.toThrow()
    const api = parseEnv(apiEnv, envOnHost(compose.services['api']!))
    expect(api.ADMIN_PASSWORD).toBe(readFileSync(join(secrets.dir, 'admin_password'), 'utf8'))
    // one Redis password: in Redis's ACL file and in the URL every node reads
    const password = readFileSync(join(secrets.dir, 'redis_password'), 'utf8')
    expect(readFileSync(join(secrets.dir, 'redis_acl'), 'utf8')).toBe(`user default on >${password} ~* &* +@all\n`)
    expect(api.REDIS_URL).toBe(`redis://:${password}@redis:6379`)
    expect(compose.services['redis']!.command).toEqual(expect.arrayContaining(['--aclfile', '/run/secrets/redis_acl']))
  })

  it('a placeholder written into a secret file stops the service, naming the variable and never the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mytho-secret-placeholder-'))
    try {
      const file = join(dir, 'ingest_mqtt_password')
      writeFileSync(file, 'change-me-ingest\n')
      chmodSync(file, 0o444)
      const env = { ...envOnHost(compose.services['broker']!), INGEST_MQTT_PASSWORD_FILE: file }
      expect(() => parseEnv(brokerEnv, env)).toThrow(/INGEST_MQTT_PASSWORD: is a placeholder/)
      expect(() => parseEnv(brokerEnv, env)).not.toThrow(/change-me-ingest/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('without --cluster every node stays standalone (redis_url empty), and a second run keeps what exists', () => {
    const plain = makeSecretsDir()
    try {
      expect(readFileSync(join(plain.dir, 'redis_url'), 'utf8')).toBe('')
      const env = Object.fromEntries(
        Object.entries(compose.services['api']!.environment ?? {}).map(([k, v]) => [k, secretOnHost(defaults(v), compose.secrets, plain.dir)]),
      )
      expect(parseEnv(apiEnv, env).REDIS_URL).toBeUndefined()
      const before = readFileSync(join(plain.dir, 'admin_password'), 'utf8')
      execFileSync('sh', [join(root, 'deploy/make-secrets.sh'), plain.dir], { stdio: 'pipe' })
      expect(readFileSync(join(plain.dir, 'admin_password'), 'utf8')).toBe(before)
    } finally {
      plain.remove()
    }
  })
})
