import { HttpError } from '@influxdata/influxdb-client'
import { describe, expect, it } from 'vitest'
import { authFor, toStorageError } from './influx-http.ts'

describe('authFor', () => {
  it('a token goes in `Authorization: Token …` (InfluxDB 2.x/3.x v1 compatibility), never in the URL', () => {
    expect(authFor({ token: 's3cr3t' })).toEqual({ headers: { authorization: 'Token s3cr3t' }, params: {} })
  })
  it('a 1.x user and password go in the u and p query parameters', () => {
    expect(authFor({ username: 'ingest', password: 'p@ss w' })).toEqual({ headers: {}, params: { u: 'ingest', p: 'p@ss w' } })
  })
  it('nothing without credentials', () => {
    expect(authFor({})).toEqual({ headers: {}, params: {} })
  })
})

describe('toStorageError', () => {
  const http = (status: number, body: string, headers: Record<string, string> = {}) =>
    new HttpError(status, 'status text', body, headers['retry-after'], 'application/json', undefined, headers)

  it('503 with Retry-After seconds: retryable, delay in ms', () => {
    const e = toStorageError(http(503, '{"error":"busy"}', { 'retry-after': '7' }), 'write')
    expect(e).toMatchObject({ retryable: true, retryAfterMs: 7_000 })
    expect(e.message).toBe('influx write failed: HTTP 503: busy')
  })
  it('429 with an HTTP-date Retry-After', () => {
    const at = new Date(Date.now() + 60_000).toUTCString()
    const e = toStorageError(http(429, '{"message":"slow down"}', { 'retry-after': at }), 'write')
    expect(e.retryable).toBe(true)
    expect(e.retryAfterMs).toBeGreaterThan(50_000)
    expect(e.retryAfterMs).toBeLessThanOrEqual(60_000)
  })
  it('any 5xx is retryable, without a delay unless the server gave one', () => {
    for (const status of [500, 501, 502, 504, 507]) expect(toStorageError(http(status, ''), 'q')).toMatchObject({ retryable: true, retryAfterMs: undefined })
  })
  it('400 and 413 are not retryable and carry the server text', () => {
    const e = toStorageError(http(400, '{"error":"partial write: field type conflict"}'), 'write')
    expect(e).toMatchObject({ retryable: false, message: 'influx write failed: HTTP 400: partial write: field type conflict' })
    expect(toStorageError(http(413, '{"error":"Request Entity Too Large"}'), 'write').retryable).toBe(false)
  })
  it('connection errors are retryable, also when Node reports them as an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    expect(toStorageError(refused, 'write').retryable).toBe(true)
    expect(toStorageError(new AggregateError([refused], 'all addresses failed'), 'write').retryable).toBe(true)
    expect(toStorageError(Object.assign(new Error('dns'), { code: 'EAI_AGAIN' }), 'write').retryable).toBe(true)
  })
  it('anything else is not retryable', () => {
    expect(toStorageError(new SyntaxError('Unexpected token <'), 'query').retryable).toBe(false)
  })
})
