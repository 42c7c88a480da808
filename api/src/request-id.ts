import { randomUUID } from 'node:crypto'
import type { RequestHandler } from 'express'
import { withLogContext, type Logger } from '@mytho/runtime'
import { clip } from './http-errors.ts'

/** A caller's (or proxy's) X-Request-Id is kept only when it is this short and plain: it goes into every log line. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Gives every request an id: the incoming X-Request-Id when it is safe (≤ 64 of [A-Za-z0-9._-]), else a new
 * UUID. It is kept in res.locals.reqId and echoed in the X-Request-Id response header; every line logged while
 * the request is handled, by any logger at any depth, carries it as `reqId` (runtime's withLogContext, on
 * AsyncLocalStorage). At debug, one line per finished request.
 */
export function requestId(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id')
    const id = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
    res.locals['reqId'] = id
    res.setHeader('X-Request-Id', id)
    const started = performance.now()
    const path = clip(req.path) // before routers mounted on a prefix rewrite it
    // 'finish' fires outside the request's async context, so the id is named here.
    res.once('finish', () => log.debug('request', { reqId: id, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) }))
    withLogContext({ reqId: id }, next)
  }
}
