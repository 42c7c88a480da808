import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { z } from 'zod'
import type { Logger } from '@mytho/runtime'
import { StorageInputError } from '@mytho/storage'
import { isNgsiRequest, sendProblem } from './sharing/ngsi-problem.ts'

export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

/** Query/param parsing at the edge: a bad input is a 400 whose message names the parameter. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'query' | 'path' | 'body'): z.infer<S> {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  const first = r.error.issues[0]
  const param = first?.path.join('.') || '(input)'
  throw new HttpError(400, `invalid ${where} ${where === 'body' ? 'field' : 'parameter'} ${param}: ${first?.message ?? 'invalid'}`, r.error.issues)
}

export const notFound: RequestHandler = (req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.path}`))

/** Longest request-derived string a log line (or an error answer) carries; a caller picks what goes in, up to ~16 KB. */
export const LOG_VALUE_MAX_CHARS = 200

/** Cuts a string to `max` characters and says how long it was: `aaa… [16000 chars]`. */
export const clip = (s: string, max = LOG_VALUE_MAX_CHARS): string => (s.length > max ? `${s.slice(0, max)}… [${s.length} chars]` : s)

/**
 * An error as the logger writes it (the shape of pino's err serializer), its message (which may echo request
 * values) clipped, in the stack too. Causes are left out: they may echo the same values.
 */
function clippedError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? clip(err) : err
  const message = clip(err.message)
  return { type: err.name, message, stack: err.stack?.replace(err.message, () => message) }
}

/**
 * The one place errors become HTTP responses; an unknown error is logged once, its request values clipped,
 * with the request's id (also in the X-Request-Id response header, so a caller's report finds the line),
 * and answered with a plain 500. Storage refusing the input (StorageInputError) is the caller's 400.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // The NGSI-LD interface answers its errors as ProblemDetails (CIM 009 §5.5.2), the rest of the API as {error}.
    const answer = isNgsiRequest(req)
      ? (status: number, message: string) => sendProblem(res, status, message)
      : (status: number, message: string, details?: unknown) => void res.status(status).json({ error: message, ...(details !== undefined ? { details } : {}) })
    if (err instanceof HttpError) return answer(err.status, err.message, err.details)
    if (err instanceof StorageInputError) return answer(400, `invalid request: ${clip(err.message)}`)
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500
    // reqId named here too: a library callback may have run next(err) outside the request's log context.
    if (status === 500) logger.error('unhandled error', { err: clippedError(err), method: req.method, path: clip(req.path), reqId: res.locals['reqId'] })
    answer(status, status === 500 ? 'internal error' : clip(String(err.message ?? 'bad request')))
  }
}
