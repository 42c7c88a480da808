import { createHmac } from 'node:crypto'
import type { Logger } from '@mytho/runtime'
import type { IncidentChange } from '@mytho/schema'
import { createDeliveryQueue, DeliveryError } from './delivery-queue.ts'

export const SIGNATURE_HEADER = 'x-mytho-signature'

/** `sha256=<hex HMAC of the raw body>`, as GitHub-style receivers verify it. */
export const signBody = (body: string, secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined
  const s = Number(h)
  if (Number.isFinite(s)) return Math.max(0, s * 1000)
  const t = Date.parse(h)
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined
}

/**
 * One POST, settled the way a delivery queue wants it: resolves on 2xx; otherwise a DeliveryError that says whether
 * to retry (network error, timeout, 5xx, 408, 429) and how soon the receiver asked (Retry-After). The webhook and the
 * NGSI-LD notifications (issue #22) post through it, so both follow one retry rule.
 */
export async function postForDelivery(o: { url: string; body: string; headers: Record<string, string>; timeoutMs: number; what: string }): Promise<void> {
  let res: Response
  try {
    res = await fetch(o.url, { method: 'POST', headers: o.headers, body: o.body, signal: AbortSignal.timeout(o.timeoutMs) })
  } catch (err) {
    throw new DeliveryError(`${o.what} unreachable: ${(err as Error).message}`, true)
  }
  await res.arrayBuffer().catch(() => undefined)
  if (res.ok) return
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408
  throw new DeliveryError(`${o.what} answered ${res.status}`, retryable, retryAfterMs(res.headers.get('retry-after')))
}

/** Posts each incident change as JSON, signed with the shared secret; 5xx/429/network errors are retried. */
export function createWebhookNotifier(o: { url: string; secret: string; timeoutMs?: number; logger: Logger; retryMinMs?: number }) {
  const queue = createDeliveryQueue({
    name: 'webhook',
    logger: o.logger,
    ...(o.retryMinMs !== undefined ? { retryMinMs: o.retryMinMs } : {}),
    send: (body) =>
      postForDelivery({
        url: o.url,
        body,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(body, o.secret) },
        timeoutMs: o.timeoutMs ?? 10_000,
        what: 'webhook',
      }),
  })
  return {
    stats: queue.stats,
    notify(change: IncidentChange): void {
      queue.enqueue(JSON.stringify({ type: `incident.${change.event.type}`, event: change.event, incident: change.incident }))
    },
    stop: () => queue.stop(),
  }
}
