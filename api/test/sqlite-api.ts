import { join } from 'node:path'
import { loadRegistryFile } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { createApi, type Api, type ApiDeps } from '../src/api.ts'

export interface SqliteApi {
  store: ReadingStore
  api: Api
  /** The throwaway folder (removed by stop()). */
  dir: string
  /** http://127.0.0.1:PORT/api/v1 */
  base: string
  /** GET base + path: status and parsed JSON body (of the type the caller names; unknown unless told). */
  get<T = unknown>(path: string): Promise<{ status: number; body: T }>
  stop(): Promise<void>
}

/**
 * The API on 127.0.0.1 port 0 over a real SQLite store in a throwaway folder (the REST tests' common setup).
 * `prepare` seeds the store and returns what the API is given besides it: a wrapped store, a clock, a logger, a web root.
 */
export async function startSqliteApi(
  prefix: string,
  prepare: (store: ReadingStore, dir: string) => Promise<Partial<ApiDeps>> | Partial<ApiDeps> = () => ({}),
): Promise<SqliteApi> {
  const tmp = makeTempDir(prefix)
  const store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
  await store.init()
  const api = createApi(
    { HTTP_PORT: 0, HTTP_HOST: '127.0.0.1' },
    { store, registry: loadRegistryFile(), logger: silentLogger, ...(await prepare(store, tmp.path)) },
  )
  const base = `http://127.0.0.1:${(await api.start()).port}/api/v1`
  return {
    store,
    api,
    dir: tmp.path,
    base,
    async get<T>(path: string) {
      const res = await fetch(base + path)
      return { status: res.status, body: (await res.json()) as T }
    },
    async stop() {
      await api.stop()
      await store.close()
      tmp.cleanup()
    },
  }
}
