import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRegistryFile } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { createApi, type Api } from '../src/api.ts'

interface Layer {
  route?: { path: string; methods: Record<string, boolean> }
  handle: { stack?: Layer[] }
}

/** What these tests read of the served OpenAPI document. */
interface OpenApiDoc {
  paths: {
    '/history': { get: { parameters: unknown[] } }
    '/devices/{id}': { get: { parameters: unknown[] } }
    '/devices': { get: { responses: { '200': { content: { 'application/json': { schema: { items: { properties: { status: { enum: string[] } } } } } } } } } }
  }
}

/** Every (method, path) the versioned router answers, as OpenAPI templates (`:id` → `{id}`). */
function routesOf(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = layer.route.path.replace(/:([A-Za-z]+)/g, '{$1}')
      return Object.keys(layer.route.methods).map((m) => `${m} ${path}`)
    }
    // Feature routers are mounted at '/', so their paths are already relative to /api/v1.
    return layer.handle.stack ? routesOf(layer.handle.stack) : []
  })
}

describe('OpenAPI document', () => {
  const tmp = makeTempDir('mytho-api-openapi-')
  let store: ReadingStore
  let api: Api
  let base: string

  beforeAll(async () => {
    store = createSqliteStore({ path: join(tmp.path, 'readings.sqlite') })
    api = createApi({ HTTP_PORT: 0, HTTP_HOST: '127.0.0.1' }, { store, registry: loadRegistryFile(), logger: silentLogger })
    base = `http://127.0.0.1:${(await api.start()).port}/api/v1`
  })
  afterAll(async () => {
    await api?.stop()
    await store?.close()
    tmp.cleanup()
  })

  it('documents exactly the routes the API serves', async () => {
    const res = await fetch(`${base}/openapi.json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: '/api/v1' }])
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
    const served = routesOf(api.v1.stack as unknown as Layer[])
    expect(served.length).toBeGreaterThan(5)
    expect([...documented].sort()).toEqual([...new Set(served)].sort())
  })

  it('describes query parameters from the same schemas the routes validate with', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as OpenApiDoc
    const params = doc.paths['/history'].get.parameters as { name: string; in: string; required: boolean; schema: Record<string, unknown> }[]
    expect(params.map((p) => [p.name, p.in, p.required])).toEqual([
      ['metric', 'query', true],
      ['from', 'query', false],
      ['to', 'query', false],
      ['window', 'query', false],
      ['deviceIds', 'query', true],
    ])
    expect(params.find((p) => p.name === 'window')?.schema).toMatchObject({ enum: ['raw', '1m', '5m', '1h', '1d'], default: 'raw' })
    expect(doc.paths['/devices/{id}'].get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })])
    expect(doc.paths['/devices'].get.responses['200'].content['application/json'].schema.items.properties.status.enum).toEqual([
      'ok',
      'warning',
      'alarm',
      'offline',
      'never_seen',
    ])
  })
})
