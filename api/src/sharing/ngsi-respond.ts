import type { Request, Response } from 'express'
import { NGSI_PREFIX } from './ngsi-problem.ts'

/** Where the interface serves its @context (CIM 009 1.8 names the resource /jsonldContexts). */
export const CONTEXT_PATH = '/jsonldContexts/mytho.jsonld'

/** The context's absolute URL as this request reached us (behind a proxy: its scheme and host, with BEHIND_PROXY). */
export const contextUrl = (req: Request): string => `${req.protocol}://${req.get('host') ?? 'localhost'}${NGSI_PREFIX}${CONTEXT_PATH}`

/** The Link header that names the @context of a plain-JSON answer (CIM 009 §6.3.5). */
export const contextLink = (url: string): string => `<${url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`

/**
 * An NGSI-LD answer in the form the client asked for (CIM 009 §6.3.6): `Accept: application/ld+json` gets the
 * @context inside each entity; anything else application/json with the context in a Link header.
 */
export function sendNgsi(req: Request, res: Response, body: Record<string, unknown> | Record<string, unknown>[]): void {
  const url = contextUrl(req)
  if (req.accepts(['application/json', 'application/ld+json']) === 'application/ld+json') {
    const withContext = (e: Record<string, unknown>) => ({ ...e, '@context': url })
    res.type('application/ld+json').send(JSON.stringify(Array.isArray(body) ? body.map(withContext) : withContext(body)))
    return
  }
  res.set('Link', contextLink(url))
  res.type('application/json').send(JSON.stringify(body))
}
