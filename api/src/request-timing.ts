import type { Request, RequestHandler } from 'express'
import { API_PREFIX } from './openapi.ts'

/** One finished (or abandoned) HTTP request, as metrics.ts labels it: every label from a small fixed set. */
export interface RequestTiming {
  method: string
  /** The matched route's template (`/api/v1/devices/:id`), never the URL a caller sent. */
  route: string
  /** `2xx` … `5xx`, or `aborted` when the client went away before the answer was sent. */
  status: string
  seconds: number
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * The label a request is counted under. A raw path would make one series per device id, history query or
 * scanner's probe (unbounded memory in Prometheus), so only templates: the route that answered, `API_PREFIX/*`
 * for an API path no route took (404s, refusals before routing), `static` for the map's files.
 * Every API router is mounted at API_PREFIX itself, so the prefix plus the route's own path is its template.
 */
export function routeLabel(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path
  const api = req.originalUrl === API_PREFIX || req.originalUrl.startsWith(`${API_PREFIX}/`) || req.originalUrl.startsWith(`${API_PREFIX}?`)
  if (path === undefined) return api ? `${API_PREFIX}/*` : 'static'
  const template = Array.isArray(path) ? path.join('|') : String(path)
  return api ? `${API_PREFIX}${template}` : template
}

/** Times every request from its arrival to its last byte handed to the kernel, and hands the timing to `observe`. */
export function timeRequests(observe: (t: RequestTiming) => void): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint()
    let done = false
    const end = (status: string) => {
      if (done) return
      done = true
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      observe({ method: METHODS.has(req.method) ? req.method : 'other', route: routeLabel(req), status, seconds })
    }
    res.once('finish', () => end(`${Math.floor(res.statusCode / 100)}xx`))
    res.once('close', () => end('aborted'))
    next()
  }
}
