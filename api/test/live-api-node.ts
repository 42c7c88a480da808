import { onTestFinished } from 'vitest'
import { openOperatorStoreFromConfig, openProvisionedRegistryFromConfig } from '@mytho/directory'
import { silentLogger } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { createApi } from '../src/api.ts'

export const PASSWORD = 'correct horse battery staple'

export interface Agent {
  cookie: string
  csrf: string
}

/**
 * One API node as api/src/main.ts starts it: its own followed registry (so a change has to travel through the store,
 * the registry notice and the re-read), sign-in on, an admin `admin1` unless told not to. Stopped when the test ends.
 */
export async function startApiNode(
  where: { DATA_DIR: string; REDIS_URL?: string },
  store: ReadingStore,
  mqtt: { MQTT_URL: string; API_MQTT_PASSWORD?: string },
  admin = true,
) {
  const provisioned = await openProvisionedRegistryFromConfig(where, loadRegistryFile())
  onTestFinished(() => provisioned.close())
  const operators = openOperatorStoreFromConfig(where)
  onTestFinished(() => operators.close())
  if (admin) await operators.create('admin1', PASSWORD, 'admin', Date.now())
  const api = createApi(
    { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1', ...where, ...mqtt },
    { store, registry: provisioned.registry, resyncRegistry: provisioned.resync, logger: silentLogger, operators },
  )
  const { port } = await api.start()
  onTestFinished(() => api.stop())
  const base = `http://127.0.0.1:${port}/api/v1`

  const signIn = async (): Promise<Agent> => {
    const res = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin1', password: PASSWORD }),
    })
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`)
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    return { cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken }
  }
  const call = async <T>(who: Agent, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        cookie: who.cookie,
        ...(method !== 'GET' ? { 'x-csrf-token': who.csrf } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as T }
  }
  return { port, provisioned, signIn, call }
}
