import type { ErrorRequestHandler, RequestHandler } from 'express'
import { z } from 'zod'
import type { Logger } from '@mytho/runtime'

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

/** The one place errors become HTTP responses; an unknown error is logged once and answered with a plain 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message, ...(err.details !== undefined ? { details: err.details } : {}) })
      return
    }
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500
    if (status === 500) logger.error('unhandled error', { err, method: req.method, path: req.path })
    res.status(status).json({ error: status === 500 ? 'internal error' : String(err.message ?? 'bad request') })
  }
}
