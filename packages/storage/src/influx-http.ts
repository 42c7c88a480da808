import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { HttpError, InfluxDB, canRetryHttpCall } from '@influxdata/influxdb-client'
import { decode as decodeMsgpack } from '@msgpack/msgpack'
import { StorageError } from './port.ts'

/*
 * The InfluxDB v1-compatible HTTP API (/write, /query), spoken through @influxdata/influxdb-client's
 * transport so we share its HTTP handling and retry classification. Works against InfluxDB 1.x and the
 * v1-compatibility endpoints of 2.x and 3.x.
 */

export interface InfluxHttpOptions {
  /** Base URL, e.g. `http://127.0.0.1:8086`. */
  url: string
  /** 2.x/3.x token, sent as `Authorization: Token <token>`. Default: none. */
  token?: string
  /** 1.x user, sent with `password` as the `u`/`p` query parameters. Default: none. */
  username?: string
  password?: string
  /** Whole-request timeout, ms; a timed-out call fails retryable. Default 10,000. */
  timeoutMs?: number
}

export interface InfluxSeries {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values: unknown[][]
}
interface InfluxResult {
  statement_id?: number
  series?: InfluxSeries[]
  error?: string
}

/** Headers and query parameters that authenticate every request. */
export function authFor(opts: Pick<InfluxHttpOptions, 'token' | 'username' | 'password'>): { headers: Record<string, string>; params: Record<string, string> } {
  const headers: Record<string, string> = {}
  const params: Record<string, string> = {}
  if (opts.token !== undefined) headers['authorization'] = `Token ${opts.token}`
  if (opts.username !== undefined) params['u'] = opts.username
  if (opts.password !== undefined) params['p'] = opts.password
  return { headers, params }
}

const MSGPACK = 'application/x-msgpack'

/** Network errors a later attempt can get past, beyond those the client library lists. */
const RETRYABLE_NET_CODES = new Set(['EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'ECONNABORTED'])

/**
 * Server down, 5xx, 429 and timeouts are retryable; other 4xx (bad line protocol, field type conflict)
 * are not, and carry the server's text. Note the library also counts 404 as retryable: on /write it means
 * "database not found", which init() or an operator fixes, so holding the batch is the no-loss choice.
 */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  if (err instanceof HttpError) {
    const text = serverText(err)
    return new StorageError(`influx ${what} failed: HTTP ${err.statusCode}${text ? `: ${text}` : ''}`, {
      cause: err,
      retryable: canRetryHttpCall(err) || err.statusCode >= 500,
      ...retryAfter(err),
    })
  }
  const codes = errorCodes(err)
  const retryable = canRetryHttpCall(err) || codes.some((c) => RETRYABLE_NET_CODES.has(c) || canRetryHttpCall({ code: c }))
  const message = (err as Error)?.message || codes.join(', ') || String(err)
  return new StorageError(`influx ${what} failed: ${message}`, { cause: err, retryable })
}

/** Error codes, including those inside an AggregateError (Node's happy-eyeballs connect reports one per address). */
function errorCodes(err: unknown): string[] {
  const out: string[] = []
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string') out.push(code)
  if (err instanceof AggregateError) for (const e of err.errors) out.push(...errorCodes(e))
  return out
}

/** 1.x answers `{"error": "..."}`, 2.x/3.x `{"message": "..."}`; fall back to the raw body. */
function serverText(err: HttpError): string {
  const json = err.json as { error?: unknown; message?: unknown } | undefined
  if (typeof json?.error === 'string') return json.error
  if (typeof json?.message === 'string') return json.message
  if (err.body) {
    try {
      const parsed = JSON.parse(err.body) as { error?: unknown; message?: unknown }
      const text = parsed.error ?? parsed.message
      if (typeof text === 'string') return text
    } catch {}
    return err.body.trim()
  }
  return err.statusMessage ?? ''
}

/**
 * Retry-After per RFC 9110 §10.2.3: delay-seconds or an HTTP date. Read from the header ourselves because
 * the library's HttpError.retryAfter() returns the number unscaled (it treats seconds as ms).
 */
function retryAfter(err: HttpError): { retryAfterMs?: number } {
  const raw = err.headers?.['retry-after']
  const value = Array.isArray(raw) ? raw[0] : raw
  if (value === undefined) return {}
  if (/^\s*\d+\s*$/.test(value)) return { retryAfterMs: Number(value) * 1000 }
  const at = Date.parse(value)
  return Number.isNaN(at) ? {} : { retryAfterMs: Math.max(0, at - Date.now()) }
}

export interface InfluxHttp {
  /** POST /write with line protocol. `db` names the database, `rp` a retention policy (default: the database's default); `precision` the timestamps' unit. */
  write(db: string, lines: string, precision: 'ms' | 'ns', rp?: string): Promise<void>
  /**
   * POST /query (form-encoded, so long device lists fit), times as epoch ms, or as RFC 3339 text with `rfc3339` (the
   * one way to read a point's ns timestamp exactly: JSON numbers stop at 2^53). Throws on any statement error.
   */
  query(q: string, db?: string, times?: 'ms' | 'rfc3339'): Promise<InfluxSeries[]>
  /** Aborts requests in flight and closes pooled sockets; later calls fail non-retryable. Safe to call twice. */
  close(): void
}

export function createInfluxHttp(opts: InfluxHttpOptions): InfluxHttp {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const auth = authFor(opts)
  // Our own agent, so close() can drop its keep-alive sockets instead of leaving them to the global pool.
  const agent = opts.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true })
  const { transport } = new InfluxDB({ url: opts.url, timeout: timeoutMs, transportOptions: { agent } })
  /** Requests in flight, so close() can abort them. */
  const inFlight = new Set<AbortController>()
  let closed = false
  /** False once this server refused MessagePack: it is not asked again. */
  let speaksMsgpack = true

  const path = (endpoint: string, params: Record<string, string>) => `${endpoint}?${new URLSearchParams({ ...params, ...auth.params })}`

  /** The answer's body, decoded by its content type: MessagePack, JSON, or nothing (204). */
  async function send(what: string, p: string, body: string, contentType: string, accept = 'application/json'): Promise<unknown> {
    if (closed) throw new StorageError(`influx ${what}: store is closed`, { retryable: false })
    // Our own timer and abort (rather than only the socket timeout) so a server that accepts and never
    // answers costs at most timeoutMs, and the socket is destroyed rather than left waiting.
    const ctl = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ctl.abort()
    }, timeoutMs)
    inFlight.add(ctl)
    try {
      const { type, bytes } = await new Promise<{ type: string; bytes: Buffer }>((resolve, reject) => {
        const chunks: Uint8Array[] = []
        let type = ''
        transport.send(
          p,
          body,
          { method: 'POST', headers: { ...auth.headers, 'content-type': contentType, accept }, signal: ctl.signal },
          {
            responseStarted: (headers) => void (type = String(headers['content-type'] ?? '')),
            next: (chunk) => void chunks.push(chunk),
            error: reject,
            complete: () => resolve({ type, bytes: Buffer.concat(chunks) }),
          },
        )
      })
      if (bytes.length === 0) return undefined
      if (type.startsWith(MSGPACK)) return decodeMsgpack(bytes)
      try {
        return JSON.parse(bytes.toString('utf8'))
      } catch {
        throw new StorageError(`influx ${what}: the server answered ${type || 'without a content type'} that is not JSON: ${bytes.toString('utf8', 0, 200)}`, {
          retryable: false,
        })
      }
    } catch (err) {
      // Checked first: an abort surfaces as whichever error the transport saw first, not always a retryable one.
      if (timedOut) throw new StorageError(`influx ${what} timed out after ${timeoutMs} ms`, { cause: err, retryable: true })
      if (closed) throw new StorageError(`influx ${what}: store closed while the request was in flight`, { cause: err, retryable: false })
      throw toStorageError(err, what)
    } finally {
      clearTimeout(timer)
      inFlight.delete(ctl)
    }
  }

  /**
   * A SELECT's answer in MessagePack where the server speaks it: InfluxDB encodes and we decode a day of raw points in
   * about a third less time than as JSON (BENCHMARKS.md). 1.x and 2.x answer it; a server that does not answers JSON
   * (read by its content type) or refuses it, and is then asked in JSON from there on. Any other refusal is asked
   * again in JSON: the client library reads an error's body as text, which a MessagePack body is not, and the
   * server's own words are what an operator needs. Only a SELECT: asking twice must not do anything twice.
   */
  async function select(p: string, form: string): Promise<unknown> {
    try {
      return await send('query', p, form, 'application/x-www-form-urlencoded', MSGPACK)
    } catch (err) {
      const refusal = err instanceof StorageError && err.cause instanceof HttpError ? err.cause : undefined
      if (!refusal || closed) throw err
      const answer = await send('query', p, form, 'application/x-www-form-urlencoded')
      if (!refusal.contentType?.startsWith(MSGPACK)) speaksMsgpack = false
      return answer
    }
  }

  return {
    async write(db, lines, precision, rp) {
      await send('write', path('/write', { db, ...(rp === undefined ? {} : { rp }), precision }), lines, 'text/plain; charset=utf-8')
    },
    async query(q, db, times = 'ms') {
      const p = path('/query', { ...(db === undefined ? {} : { db }), ...(times === 'ms' ? { epoch: 'ms' } : {}) })
      const form = new URLSearchParams({ q }).toString()
      // With RFC 3339 times the MessagePack answer carries Go time values, not text: JSON there.
      const res = (
        times === 'ms' && speaksMsgpack && /^\s*SELECT\b/i.test(q) ? await select(p, form) : await send('query', p, form, 'application/x-www-form-urlencoded')
      ) as { results?: InfluxResult[]; error?: string } | undefined
      if (res?.error) throw new StorageError(`influx query failed: ${res.error}`, { retryable: false })
      const series: InfluxSeries[] = []
      for (const r of res?.results ?? []) {
        if (r.error) throw new StorageError(`influx query failed: ${r.error}\n  query: ${q.slice(0, 500)}`, { retryable: false })
        if (r.series) series.push(...r.series)
      }
      return series
    },
    close() {
      closed = true
      for (const ctl of inFlight) ctl.abort()
      agent.destroy()
    },
  }
}
