import { onTestFinished } from 'vitest'
import { waitFor } from '@mytho/testing'
import { spawnService, type Child } from './fault-load.ts'

/*
 * Cluster nodes as separate hosts would run them: each the real entry point in its own process, with its own
 * DATA_DIR, sharing only REDIS_URL (and storage). Nodes listen on port 0 and the test reads the port from the line
 * each prints once it listens. The service passwords are given to every node, as on hosts that share no demo file.
 */

export const SERVICE_PASSWORDS = { INGEST_MQTT_PASSWORD: 'ingest-service-password-e2e', API_MQTT_PASSWORD: 'api-service-password-e2e' }
export const ADMIN_PASSWORD = 'correct horse battery staple'

export interface Node extends Child {
  url: string
}

/** Spawns `entry` and waits for `ready` to print the node's address; SIGKILLed when the test ends. */
async function spawnNode(entry: string, env: Record<string, string>, ready: RegExp, what: string): Promise<Node> {
  const child = spawnService(entry, env)
  onTestFinished(() => child.kill('SIGKILL'))
  const url = await waitFor(
    () => {
      if (child.child.exitCode !== null) throw new Error(`${what} exited:\n${child.output()}`)
      return ready.exec(child.output())?.[1]
    },
    { timeoutMs: 30_000, what },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${child.output()}`)
  })
  return { ...child, url }
}

/** A broker node (`broker/src/main.ts`) on REDIS_URL. */
export const spawnBroker = (env: Record<string, string>): Promise<Node> =>
  spawnNode(
    'broker/src/main.ts',
    { MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: 'off', MQTT_MAX_PUBLISH_PER_S: '0', ...SERVICE_PASSWORDS, ...env },
    /broker: MQTT (mqtt:\/\/\S+)/,
    'a broker node',
  )

/** An API node (`api/src/main.ts`) with sign-in on and a first admin. */
export const spawnApi = (env: Record<string, string>): Promise<Node> =>
  spawnNode(
    'api/src/main.ts',
    { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', ADMIN_PASSWORD, ...SERVICE_PASSWORDS, ...env },
    /api: map and API on (http:\/\/[^\s/]+:\d+)/,
    'an API node',
  )

/** An ingest worker (`ingest/src/main.ts`): resolves once it says it is subscribed. */
export async function spawnIngest(env: Record<string, string>): Promise<Child> {
  const child = spawnService('ingest/src/main.ts', { INGEST_BATCH_WAIT_MS: '10', ...SERVICE_PASSWORDS, ...env })
  onTestFinished(() => child.kill('SIGKILL'))
  await waitFor(
    () => {
      if (child.child.exitCode !== null) throw new Error(`ingest worker exited:\n${child.output()}`)
      return child.output().includes('ingest subscribed')
    },
    { timeoutMs: 30_000, what: 'an ingest worker to subscribe' },
  )
  return child
}

/** A signed-in operator's cookies and CSRF token. */
export interface Agent {
  cookie: string
  csrf: string
}

export async function signIn(apiUrl: string, username = 'admin', password = ADMIN_PASSWORD): Promise<Agent> {
  const res = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  if (res.status !== 200) throw new Error(`sign-in of ${username} on ${apiUrl}: ${res.status} ${await res.text()}`)
  const { csrfToken } = (await res.json()) as { csrfToken: string }
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  return { cookie, csrf: csrfToken }
}

/** A JSON request to `/api/v1${path}` as `who`; the body is of the type the caller names (unknown unless told). */
export async function apiCall<T = unknown>(
  apiUrl: string,
  who: Agent,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { cookie: who.cookie }
  if (method === 'POST') headers['x-csrf-token'] = who.csrf
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${apiUrl}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  try {
    return { status: res.status, body: JSON.parse(text) as T }
  } catch {
    return { status: res.status, body: text as T }
  }
}
