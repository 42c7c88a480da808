import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { createIngest, loadIngestConfig } from '@mytho/ingest'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { loadRegistryFile, type AgencyKeyCreated, type AgencyKeyScope, type StoredReading } from '@mytho/schema'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading } from '@mytho/testing'
import type { ApiOptions } from '../src/api.ts'
import { startSecuredApi, type Agent } from './auth-harness.ts'

/** A plain HTTP answer: status, headers, the body parsed as JSON when it is JSON. */
export interface Answer<T = unknown> {
  status: number
  headers: Headers
  body: T
}

async function answer<T>(res: Response): Promise<Answer<T>> {
  const text = await res.text()
  let body: unknown = text
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    // not JSON: the text
  }
  return { status: res.status, headers: res.headers, body: body as T }
}

/**
 * The API as main.ts runs it (sign-in on, DATA_DIR with meta.sqlite, a real SQLite store) with an admin signed in,
 * and an NGSI-LD client for agency keys. `live`: a real Aedes broker on port 0 and the ingest in front of it, the
 * API's live feed subscribed (what subscriptions need); otherwise readings are written to the store directly.
 */
export async function startSharing(opts: { live?: boolean; clock?: () => number; config?: Partial<ApiOptions> } = {}) {
  const tmp = makeTempDir('mytho-ngsi-')
  onTestFinished(() => tmp.cleanup())
  const store: ReadingStore = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  let config: Partial<ApiOptions> = { ...opts.config }
  let secrets: Record<string, string> = {}
  let mqttUrl = ''
  let stopIngest: (() => Promise<void>) | undefined
  if (opts.live) {
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
      logger: silentLogger,
    })
    const { mqttPort } = await broker.start()
    onTestFinished(() => broker.stop())
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    secrets = readDemoSecrets(tmp.path)?.devices ?? {}
    const ingest = createIngest(loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: tmp.path, INGEST_BATCH_WAIT_MS: '10' }), {
      store,
      registry: loadRegistryFile(),
      logger: silentLogger,
    })
    await ingest.start()
    onTestFinished(() => ingest.stop())
    config = { ...config, MQTT_URL: mqttUrl }
    stopIngest = () => ingest.stop()
  }
  const api = await startSecuredApi(config, tmp.path, silentLogger, opts.clock, store)
  // Registered after the API's teardown, so it runs before it (last registered, first run): the ingest is done
  // writing before the API's teardown closes the store they share. stop() is safe twice.
  if (stopIngest) onTestFinished(stopIngest)
  const admin: Agent = await api.signIn('admin')
  const ngsiBase = `${api.url}/ngsi-ld/v1`

  return {
    ...api,
    store,
    admin,
    ngsiBase,
    write: (readings: StoredReading[]) => store.writeReadings(readings),
    /** An admin issues a key (POST /api/v1/admin/agency-keys with the session's CSRF token). */
    async issueKey(scope: Partial<AgencyKeyScope> & Pick<AgencyKeyScope, 'kinds' | 'wards'>, name = 'test key'): Promise<AgencyKeyCreated> {
      const res = await api.call<AgencyKeyCreated>(admin, 'POST', '/admin/agency-keys', { name, agency: 'Đài KTTV Đồng Tháp', scope })
      if (res.status !== 201) throw new Error(`issuing a key failed: ${res.status} ${JSON.stringify(res.body)}`)
      return res.body
    },
    /** A request to the NGSI-LD interface with an agency key (Authorization: Bearer) or other headers. */
    async ngsi<T = unknown>(key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
      const h: Record<string, string> = { ...headers }
      if (key !== undefined) h['authorization'] = `Bearer ${key}`
      if (body !== undefined) h['content-type'] ??= 'application/json'
      return answer<T>(await fetch(`${ngsiBase}${path}`, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }))
    },
    /** A device connected to the broker with its seed secret (live only). */
    async device(deviceId: string) {
      const c = await connectDevice(mqttUrl, deviceId, secrets[deviceId]!)
      onTestFinished(() => c.endAsync(true))
      return { publish: (body: unknown) => publishReading(c, deviceId, body) }
    },
  }
}
export type Sharing = Awaited<ReturnType<typeof startSharing>>

/** A water-level reading as storage keeps it. */
export const gaugeReading = (deviceId: string, ts: number, cm: number, ward = 'my-tho'): StoredReading => ({
  deviceId,
  kind: 'water_level',
  ward: ward as StoredReading['ward'],
  ts,
  tsSource: 'device',
  receivedAt: ts,
  fields: { waterLevelCm: cm },
})
