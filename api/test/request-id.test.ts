import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '@mytho/runtime'
import { StorageError, type ReadingStore } from '@mytho/storage'
import { startSqliteApi, type SqliteApi } from './sqlite-api.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('request ids', () => {
  const lines: string[] = []
  let p: SqliteApi
  let base: string

  beforeAll(async () => {
    p = await startSqliteApi('mytho-api-request-id-', (store) => {
      const logger = createLogger('debug', { service: 'api' }, (line) => lines.push(line))
      // Storage deep under a route, logging with its own logger (as the adapters do), then failing.
      const storageLog = logger.child({ part: 'storage' })
      const history: ReadingStore['history'] = async (q) => {
        storageLog.warn('query is slow', { metric: q.metric })
        await new Promise((resolve) => setTimeout(resolve, 5))
        throw new StorageError('influx query failed: connection reset', { retryable: true })
      }
      return { store: { ...store, history }, logger }
    })
    base = p.base
  })
  afterAll(() => p?.stop())

  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const failingGet = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/devices/wl-hydro-station/history?metric=waterLevelCm`, { headers })
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'internal error' })
    return res.headers.get('x-request-id')
  }

  it("gives a failing request an id, sends it in X-Request-Id, and writes it on the error line and every line logged on the request's behalf", async () => {
    lines.length = 0
    const id = await failingGet()
    expect(id).toMatch(UUID)
    const mine = records().filter((r) => r['reqId'] === id)
    expect(mine).toEqual([
      expect.objectContaining({ level: 'warn', service: 'api', part: 'storage', msg: 'query is slow', metric: 'waterLevelCm' }),
      expect.objectContaining({
        level: 'error',
        service: 'api',
        msg: 'unhandled error',
        method: 'GET',
        path: '/api/v1/devices/wl-hydro-station/history',
        err: expect.objectContaining({ type: 'StorageError' }),
      }),
      expect.objectContaining({
        level: 'debug',
        msg: 'request',
        method: 'GET',
        path: '/api/v1/devices/wl-hydro-station/history',
        status: 500,
        ms: expect.any(Number),
      }),
    ])
    expect(records().filter((r) => r['reqId'] !== id)).toEqual([])
  })

  it('keeps a safe incoming X-Request-Id (up to 64 of A-Z a-z 0-9 . _ -), so a proxy and the API log the same id', async () => {
    for (const incoming of ['trace.abc-123_X', 'a'.repeat(64)]) {
      lines.length = 0
      expect(await failingGet({ 'X-Request-Id': incoming })).toBe(incoming)
      expect(records().find((r) => r['msg'] === 'unhandled error')).toMatchObject({ reqId: incoming })
    }
  })

  it('replaces an unsafe or overlong incoming X-Request-Id with a new one, and never writes the unsafe value', async () => {
    for (const incoming of ['a'.repeat(65), 'has space', 'x","level":"info', '<script>', 'caf\u00e9', '../../etc']) {
      lines.length = 0
      const id = await failingGet({ 'X-Request-Id': incoming })
      expect(id, incoming).toMatch(UUID)
      expect(
        records().find((r) => r['msg'] === 'unhandled error'),
        incoming,
      ).toMatchObject({ reqId: id })
      for (const line of lines) expect(line).not.toContain(JSON.stringify(incoming).slice(1, -1))
    }
  })

  it('keeps concurrent requests apart: each line carries the id of the request it was written for', async () => {
    lines.length = 0
    const ids = ['one', 'two', 'three', 'four']
    await Promise.all(ids.map((id) => failingGet({ 'X-Request-Id': id })))
    expect(new Set(records().map((r) => r['reqId']))).toEqual(new Set(ids))
    for (const id of ids)
      expect(
        records()
          .filter((r) => r['reqId'] === id)
          .map((r) => r['msg']),
      ).toEqual(['query is slow', 'unhandled error', 'request'])
  })

  it('answers every response with an id, a 404 and a successful one too', async () => {
    const ok = await fetch(`${base}/health`)
    expect(ok.headers.get('x-request-id')).toMatch(UUID)
    const missing = await fetch(`${base}/no-such-route`, { headers: { 'X-Request-Id': 'lost-route' } })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-request-id')).toBe('lost-route')
  })
})
