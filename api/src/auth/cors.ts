import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'

/**
 * CORS from config (CORS_ORIGINS): listed origins may call the API with credentials; everyone else gets no
 * CORS headers, so a browser keeps other sites' pages from reading answers. Same-origin (the map the API
 * serves) needs no entry.
 */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins)
  return (req, res, next) => {
    const origin = req.get('origin')
    if (origin !== undefined && allowed.has(origin)) {
      res.vary('Origin')
      res.set('Access-Control-Allow-Origin', origin)
      res.set('Access-Control-Allow-Credentials', 'true')
      if (req.method === 'OPTIONS') {
        res.set('Access-Control-Allow-Methods', 'GET, POST, PATCH')
        res.set('Access-Control-Allow-Headers', 'Content-Type, X-CSRF-Token')
        res.set('Access-Control-Max-Age', '600')
        res.status(204).end()
        return
      }
    }
    next()
  }
}

/** A WebSocket/polling handshake from a page of another site is refused unless that origin is listed (cross-site WebSocket hijacking). */
export function sameOriginOrListed(req: IncomingMessage, origins: readonly string[]): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true // not a browser page (scripts, tests)
  if (origins.includes(origin)) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}
