import { STATUS_CODES } from 'node:http'
import type { Request, Response } from 'express'
import { NGSI_ERROR_BASE, type NgsiErrorType, type NgsiProblem } from '@mytho/schema'

/** Where the NGSI-LD interface is mounted (CIM 009 §6.1: the API root is `/ngsi-ld/v1`). */
export const NGSI_PREFIX = '/ngsi-ld/v1'

/** The NGSI-LD error type of a status (CIM 009 §5.5.2); statuses it names none for get RFC 7807's about:blank. */
const TYPES: Partial<Record<number, NgsiErrorType>> = {
  400: 'BadRequestData',
  404: 'ResourceNotFound',
  405: 'OperationNotSupported',
  409: 'AlreadyExists',
  422: 'InvalidRequest',
  500: 'InternalError',
  501: 'OperationNotSupported',
}

export const isNgsiRequest = (req: Request): boolean => req.originalUrl === NGSI_PREFIX || req.originalUrl.startsWith(`${NGSI_PREFIX}/`)

export function problemOf(status: number, detail: string): NgsiProblem {
  const type = TYPES[status]
  return {
    type: type === undefined ? 'about:blank' : `${NGSI_ERROR_BASE}${type}`,
    title: type ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
  }
}

/** An error answer as NGSI-LD clients parse it: ProblemDetails (RFC 7807) as application/json. */
export function sendProblem(res: Response, status: number, detail: string): void {
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify(problemOf(status, detail)))
}
