import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { io, type Socket } from 'socket.io-client'
import { openOperatorStore, openRedisOperatorStore, type OperatorStore } from '@mytho/directory'
import { loadRegistryFile, type Role } from '@mytho/schema'
import { silentLogger, type Logger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { createApi, type ApiOptions, type Api } from '../src/api.ts'

export const PASSWORD = 'correct horse battery staple'

/** A signed-in browser: its cookies and CSRF token, sent the way the map must send them. */
export interface Agent {
  username: string
  cookie: string
  csrf: string
}

/** A sign-in's answer: status, Retry-After in seconds (when sent) and the error text (when any). */
export interface LoginAnswer {
  status: number
  retryAfter: number | undefined
  error: string | undefined
}

/**
 * The API with sign-in on (as main.ts and npm start run it) over a throwaway DATA_DIR, and one operator per role.
 * With REDIS_URL the operators are in that Redis, as main.ts does on a cluster (a second node finds them there).
 * `clock`: the API's clock (sign-in throttle, sessions), for tests that step through throttle delays without waiting.
 */
export async function startSecuredApi(
  config: Partial<ApiOptions> = {},
  dataDir?: string,
  logger: Logger = silentLogger,
  clock?: () => number,
  /** The API's store (closed at the end); default SQLite in the data folder. */
  apiStore?: ReadingStore,
) {
  const tmp = dataDir === undefined ? makeTempDir('mytho-api-auth-') : undefined
  const dir = dataDir ?? tmp!.path
  const store = apiStore ?? createSqliteStore({ path: join(dir, 'readings.sqlite') })
  const operators: OperatorStore = config.REDIS_URL !== undefined ? openRedisOperatorStore(config.REDIS_URL) : openOperatorStore(dir)
  const api: Api = createApi(
    { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ...config },
    { store, registry: loadRegistryFile(), logger, operators, ...(clock ? { clock } : {}) },
  )
  const { port } = await api.start()
  onTestFinished(async () => {
    await api.stop()
    await store.close()
    await operators.close()
    tmp?.cleanup()
  })
  for (const role of ['viewer', 'operator', 'admin'] as const) await operators.create(`${role}1`, PASSWORD, role, Date.now())
  const url = `http://127.0.0.1:${port}`
  const base = `${url}/api/v1`

  async function login(username: string, password = PASSWORD): Promise<Response> {
    return fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  }
  /**
   * A sign-in from another client: `address` binds the connection to that local address (127.0.0.0/8 is all
   * loopback on Linux, so 127.0.0.2 is a second client); `forwardedFor` is sent as X-Forwarded-For, the client
   * address a TLS proxy reports (the API takes it with BEHIND_PROXY=true).
   */
  function loginFrom(from: { address?: string; forwardedFor?: string }, username: string, password = PASSWORD): Promise<LoginAnswer> {
    const body = JSON.stringify({ username, password })
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    if (from.forwardedFor !== undefined) headers['x-forwarded-for'] = from.forwardedFor
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/auth/login',
          method: 'POST',
          headers,
          agent: false,
          ...(from.address !== undefined ? { localAddress: from.address } : {}),
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => {
            const retryAfter = res.headers['retry-after']
            let error: string | undefined
            try {
              error = (JSON.parse(text) as { error?: string }).error
            } catch {
              error = undefined
            }
            resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter === undefined ? undefined : Number(retryAfter), error })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }
  async function signIn(role: Role): Promise<Agent> {
    const res = await login(`${role}1`)
    if (res.status !== 200) throw new Error(`sign-in of ${role}1 failed: ${res.status} ${await res.text()}`)
    const body = (await res.json()) as { csrfToken: string }
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    return { username: `${role}1`, cookie, csrf: body.csrfToken }
  }
  /** A request as `who` (undefined: anonymous), JSON in and out; POSTs carry the CSRF header unless told not to. The body is of the type the caller names (unknown unless told). */
  async function call<T = unknown>(
    who: Agent | undefined,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    opts: { csrf?: boolean; contentType?: string } = {},
  ) {
    const headers: Record<string, string> = {}
    if (who) headers['cookie'] = who.cookie
    // every method but GET changes something, so carries the session's CSRF token (as the pages send it)
    if (who && method !== 'GET' && opts.csrf !== false) headers['x-csrf-token'] = who.csrf
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json'
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = text
    }
    return { status: res.status, body: json as T, headers: res.headers }
  }
  /** A browser's socket, with the session cookie of `who`; resolves with 'connected' or the refusal message. */
  function socket(who: Agent | undefined): Promise<{ outcome: string; socket: Socket }> {
    const s = io(url, { path: '/socket.io', transports: ['websocket'], reconnection: false, ...(who ? { extraHeaders: { cookie: who.cookie } } : {}) })
    onTestFinished(() => void s.close())
    return new Promise((resolve) => {
      s.once('connect', () => resolve({ outcome: 'connected', socket: s }))
      s.once('connect_error', (err) => resolve({ outcome: err.message, socket: s }))
    })
  }
  return { api, operators, url, base, dir, login, loginFrom, signIn, call, socket }
}
