import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { connectAsync, type IClientOptions } from 'mqtt'
import { io } from 'socket.io-client'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, SERVICE_ACCOUNTS, silentLogger } from '@mytho/runtime'
import { freePort, makeTempDir, waitFor } from '@mytho/testing'
import { PASSWORD, startSecuredApi } from './auth-harness.ts'

/*
 * Issue #19, finding 2: in compose the city reaches the map, the API, the live feed and MQTT over WebSocket only
 * through Caddy (deploy/caddy/Caddyfile), which terminates TLS. Here the real Caddy runs that very file, set through
 * its environment as compose sets it (Caddy's internal CA, as on a closed network), on free ports of 127.0.0.1, in
 * front of the real API with BEHIND_PROXY=true and a real broker.
 */
const CADDYFILE = fileURLToPath(new URL('../../deploy/caddy/Caddyfile', import.meta.url))

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One HTTPS request that trusts only `ca`, for the name `localhost` (what MYTHO_SITE names). */
function httpsCall(port: number, ca: Buffer, path: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        path,
        method: opts.method ?? 'GET',
        ca,
        agent: false,
        headers: { host: `localhost:${port}`, ...opts.headers },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

function httpCall(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Caddy on the deploy Caddyfile, its state (the internal CA) in a temp dir, never the host's trust store. */
async function startCaddy(upstreams: { api: string; mqttWs: string }) {
  const tmp = makeTempDir('mytho-caddy-')
  onTestFinished(() => tmp.cleanup())
  const [httpPort, httpsPort] = [await freePort(), await freePort()]
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: tmp.path,
    XDG_DATA_HOME: join(tmp.path, 'data'),
    XDG_CONFIG_HOME: join(tmp.path, 'config'),
    CADDY_ADMIN: 'off',
    MYTHO_BIND: '127.0.0.1',
    MYTHO_HTTP_PORT: String(httpPort),
    MYTHO_HTTPS_PORT: String(httpsPort),
    MYTHO_SITE: 'localhost',
    MYTHO_TLS: 'internal',
    MYTHO_API_UPSTREAMS: upstreams.api,
    MYTHO_MQTT_WS_UPSTREAMS: upstreams.mqttWs,
  }
  const proc = spawn('caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-4096))
  proc.stdout.on('data', keep)
  proc.stderr.on('data', keep)
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  onTestFinished(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    await exited
  })
  const rootCert = join(tmp.path, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt')
  let ca: Buffer | undefined
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`caddy exited (${proc.exitCode}):\n${output}`)
      // Read on every try: caddy creates the file before it writes it, and a root read empty once stayed empty for good.
      ca = readFileSync(rootCert)
      return (await httpsCall(httpsPort, ca, '/api/v1/health')).status === 200
    },
    { timeoutMs: 20_000, what: 'caddy serving the API over HTTPS with its internal CA' },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\ncaddy output:\n${output}`)
  })
  return { httpPort, httpsPort, ca: ca! }
}

describe('the API behind Caddy (deploy/caddy/Caddyfile, BEHIND_PROXY=true)', () => {
  it('signs in over HTTPS with a Secure cookie and HSTS, the live feed connects through the proxy, plain HTTP only redirects', async () => {
    const api = await startSecuredApi({ BEHIND_PROXY: true })
    const proxy = await startCaddy({ api: new URL(api.url).host, mqttWs: '127.0.0.1:9' })

    const login = await httpsCall(proxy.httpsPort, proxy.ca, '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'operator1', password: PASSWORD }),
    })
    expect(login.status).toBe(200)
    const setCookies = (login.headers['set-cookie'] as string[] | undefined) ?? []
    const session = setCookies.find((c) => c.startsWith('mytho_session='))
    expect(session).toBeDefined()
    expect(session!.split(';').map((p) => p.trim().toLowerCase())).toEqual(expect.arrayContaining(['secure', 'httponly']))
    for (const c of setCookies) expect(c.toLowerCase(), c.split('=')[0]).toContain('; secure')
    expect(login.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/)
    // the map's own page too, not only the API
    expect((await httpsCall(proxy.httpsPort, proxy.ca, '/api/v1/health')).headers['strict-transport-security']).toMatch(/max-age=/)
    expect(login.headers['server']).toBeUndefined()

    // Socket.IO through the proxy: the WebSocket upgrade passes, and the session cookie is what lets it in.
    const cookie = setCookies.map((c) => c.split(';')[0]).join('; ')
    const socket = io(`https://localhost:${proxy.httpsPort}`, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      ca: proxy.ca.toString(),
      extraHeaders: { cookie },
    })
    onTestFinished(() => void socket.close())
    const outcome = await new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'))
      socket.once('connect_error', (err) => resolve(err.message))
    })
    expect(outcome).toBe('connected')

    // Plain HTTP: a redirect to HTTPS, never the page or the API.
    const plain = await httpCall(proxy.httpPort, '/api/v1/auth/me', { host: `localhost:${proxy.httpPort}` })
    expect(plain.status).toBeGreaterThanOrEqual(301)
    expect(plain.status).toBeLessThanOrEqual(308)
    // Caddy 2.6 leaves its own HTTPS port out of the address (443 in compose; here a free port).
    expect(plain.headers['location']).toMatch(/^https:\/\/localhost(:\d+)?\/api\/v1\/auth\/me$/)
    // Straight to the API over plain HTTP (no proxy saying https): no HSTS, which would pin a name to a port that
    // speaks no TLS.
    expect((await httpCall(Number(new URL(api.url).port), '/api/v1/health')).headers['strict-transport-security']).toBeUndefined()
  })

  it('MQTT over WebSocket only as wss:// through the proxy: a device connects, a service account is refused', async () => {
    const dir = makeTempDir('mytho-caddy-broker-')
    onTestFinished(() => dir.cleanup())
    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: dir.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: '0', MQTT_SERVICE_NETS: 'none' }),
      {
        logger: silentLogger,
      },
    )
    const { wsPort } = await broker.start()
    onTestFinished(() => broker.stop())
    const api = await startSecuredApi({ BEHIND_PROXY: true })
    const proxy = await startCaddy({ api: new URL(api.url).host, mqttWs: `127.0.0.1:${wsPort}` })
    const secrets = readDemoSecrets(dir.path)!
    const [deviceId, secret] = Object.entries(secrets.devices)[0]!
    const url = `wss://localhost:${proxy.httpsPort}/mqtt`
    const tls: IClientOptions = { ca: proxy.ca, reconnectPeriod: 0, connectTimeout: 5_000 }

    const device = await connectAsync(url, { ...tls, clientId: deviceId, username: deviceId, password: secret })
    onTestFinished(() => device.endAsync(true))
    await device.publishAsync(`mytho/v1/devices/${deviceId}/status`, 'online', { qos: 1 })

    // Through a proxy every client comes from the proxy's address: the broker refuses service accounts on WebSocket.
    const service = connectAsync(url, { ...tls, username: SERVICE_ACCOUNTS.api, password: secrets.services[SERVICE_ACCOUNTS.api]! })
    await expect(service).rejects.toMatchObject({ code: 5 })
  })
})
