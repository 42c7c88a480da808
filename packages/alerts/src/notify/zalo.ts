import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from '@mytho/runtime'
import type { DeviceRegistry, IncidentChange } from '@mytho/schema'
import { createDeliveryQueue, DeliveryError } from './delivery-queue.ts'
import { formatZaloMessage } from './templates.ts'

/** The Official Account API (its `/v3.0/oa/message/cs` sends a text to a follower) and Zalo's OAuth server. */
export const ZALO_OA_API_URL = 'https://openapi.zalo.me'
export const ZALO_OAUTH_URL = 'https://oauth.zaloapp.com'

/**
 * `error` values of an OA answer that mean the access token is no longer good: -216 invalid (revoked, or past its
 * ~25 hours), -124 expired. The OA answers both with HTTP 200, so the status alone never tells.
 */
export const ZALO_TOKEN_ERRORS: ReadonlySet<number> = new Set([-216, -124])

/** Refresh a token before it runs out, not on the first message after: a message then need not wait for it. */
const REFRESH_MARGIN_MS = 10 * 60_000

/**
 * With these the channel renews its own access token (`POST {oauthUrl}/v4/oa/access_token`, header `secret_key`,
 * grant_type=refresh_token). A refresh token is good once: the pair Zalo answers replaces it, and is written to
 * `tokenFile` so a restart goes on with the new pair instead of the used one from the environment.
 */
export interface ZaloRefresh {
  appId: string
  appSecret: string
  refreshToken: string
  oauthUrl?: string
  tokenFile?: string
}

interface Tokens {
  access: string | undefined
  refresh: string | undefined
  /** ms; undefined when unknown (a token given by hand). */
  expiresAt: number | undefined
}

/** What the token file holds; `seed` ties it to the environment's tokens, so new ones given by hand win over it. */
interface TokenFile {
  seed: string
  access: string
  refresh: string
  expiresAt: number
}

const seedOf = (access: string | undefined, refresh: string) =>
  createHash('sha256')
    .update(`${access ?? ''}\n${refresh}`)
    .digest('hex')

function readTokenFile(path: string, seed: string): Tokens | undefined {
  try {
    const f = JSON.parse(readFileSync(path, 'utf8')) as Partial<TokenFile>
    if (f.seed !== seed || typeof f.access !== 'string' || typeof f.refresh !== 'string') return undefined
    return { access: f.access, refresh: f.refresh, expiresAt: typeof f.expiresAt === 'number' ? f.expiresAt : undefined }
  } catch {
    return undefined
  }
}

function writeTokenFile(path: string, content: TokenFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify(content), { mode: 0o600 })
  renameSync(tmp, path)
}

/**
 * Sends each incident change as a Vietnamese text from the city's Zalo Official Account to every recipient (user
 * ids of operators who follow the OA). One delivery queue per recipient, so a recipient the OA refuses never holds
 * up the others; the queues retry network errors, 5xx and 429 with backoff, and never block the ingest.
 * Tokens never reach a log: they travel in a header, and every error message is scrubbed of them.
 */
export function createZaloNotifier(o: {
  accessToken?: string
  recipients: readonly string[]
  apiUrl?: string
  refresh?: ZaloRefresh
  registry?: DeviceRegistry
  /** The map's public address, for the link in each message. */
  mapUrl?: string
  logger: Logger
  retryMinMs?: number
  clock?: () => number
}) {
  const now = o.clock ?? Date.now
  const sendUrl = `${(o.apiUrl ?? ZALO_OA_API_URL).replace(/\/$/, '')}/v3.0/oa/message/cs`
  const refreshUrl = `${(o.refresh?.oauthUrl ?? ZALO_OAUTH_URL).replace(/\/$/, '')}/v4/oa/access_token`
  const seed = o.refresh ? seedOf(o.accessToken, o.refresh.refreshToken) : ''
  const tokens: Tokens = (o.refresh?.tokenFile ? readTokenFile(o.refresh.tokenFile, seed) : undefined) ?? {
    access: o.accessToken,
    refresh: o.refresh?.refreshToken,
    expiresAt: undefined,
  }
  const secrets = new Set<string>([o.accessToken, o.refresh?.refreshToken, o.refresh?.appSecret, tokens.access, tokens.refresh].filter((s) => !!s) as string[])
  const scrub = (text: string): string => {
    let out = text
    for (const s of secrets) out = out.split(s).join('***')
    return out
  }
  // Said once per outage of the token, not once per message: a city with 10 operators would get 10 lines a change.
  let tokenProblemSaid = false
  let refreshing: Promise<void> | undefined

  /** One refresh at a time for all recipients' queues: a refresh token is good once. */
  const refreshNow = (): Promise<void> =>
    (refreshing ??= doRefresh().finally(() => {
      refreshing = undefined
    }))

  async function doRefresh(): Promise<void> {
    const r = o.refresh!
    if (!tokens.refresh) throw new DeliveryError('zalo: no refresh token left', false)
    let res: Response
    try {
      res = await fetch(refreshUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', secret_key: r.appSecret },
        body: new URLSearchParams({ refresh_token: tokens.refresh, app_id: r.appId, grant_type: 'refresh_token' }).toString(),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      throw new DeliveryError(scrub(`zalo token refresh unreachable: ${(err as Error).message}`), true)
    }
    const answer = (await res.json().catch(() => ({}))) as {
      access_token?: string
      refresh_token?: string
      expires_in?: string | number
      error?: number
      error_name?: string
      error_description?: string
    }
    if (res.status >= 500 || res.status === 429) throw new DeliveryError(`zalo token refresh answered ${res.status}`, true)
    if (!res.ok || !answer.access_token || !answer.refresh_token) {
      if (!tokenProblemSaid) {
        tokenProblemSaid = true
        o.logger.error(
          'Zalo OA refresh token refused: Zalo messages stop until the OA is authorised again and ZALO_OA_REFRESH_TOKEN (or ZALO_OA_ACCESS_TOKEN) is renewed (docs/alerts.md, "Zalo")',
          { status: res.status, error: answer.error, reason: scrub(answer.error_description ?? answer.error_name ?? '') },
        )
      }
      throw new DeliveryError(`zalo token refresh refused (${answer.error ?? res.status})`, false)
    }
    secrets.add(answer.access_token)
    secrets.add(answer.refresh_token)
    tokens.access = answer.access_token
    tokens.refresh = answer.refresh_token
    const expiresS = Number(answer.expires_in)
    tokens.expiresAt = Number.isFinite(expiresS) && expiresS > 0 ? now() + expiresS * 1000 : undefined
    if (r.tokenFile) {
      try {
        writeTokenFile(r.tokenFile, { seed, access: tokens.access, refresh: tokens.refresh, expiresAt: tokens.expiresAt ?? 0 })
      } catch (err) {
        // The new pair works in memory; only a restart would fall back to the used refresh token.
        o.logger.error('Zalo OA tokens not saved: after a restart ZALO_OA_REFRESH_TOKEN must be renewed', {
          file: r.tokenFile,
          err: scrub((err as Error).message),
        })
      }
    }
    o.logger.info('Zalo OA access token renewed', { expiresInS: Number.isFinite(expiresS) ? expiresS : undefined })
  }

  async function post(body: string): Promise<{ status: number; error: number; message: string }> {
    let res: Response
    try {
      res = await fetch(sendUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', access_token: tokens.access ?? '' },
        body,
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      throw new DeliveryError(scrub(`zalo unreachable: ${(err as Error).message}`), true)
    }
    const answer = (await res.json().catch(() => ({}))) as { error?: number; message?: string }
    if (!res.ok) throw new DeliveryError(`zalo answered ${res.status}`, res.status >= 500 || res.status === 429)
    return { status: res.status, error: typeof answer.error === 'number' ? answer.error : 0, message: scrub(String(answer.message ?? '')) }
  }

  async function send(body: string): Promise<void> {
    if (o.refresh && (!tokens.access || (tokens.expiresAt !== undefined && now() > tokens.expiresAt - REFRESH_MARGIN_MS))) await refreshNow()
    let answer = await post(body)
    if (ZALO_TOKEN_ERRORS.has(answer.error) && o.refresh) {
      const used = tokens.access
      // Another recipient's queue may have renewed it meanwhile.
      if (refreshing) await refreshing
      else if (tokens.access === used) await refreshNow()
      answer = await post(body)
    }
    if (answer.error === 0) {
      if (tokenProblemSaid) o.logger.info('Zalo OA messages are delivered again')
      tokenProblemSaid = false
      return
    }
    if (ZALO_TOKEN_ERRORS.has(answer.error)) {
      if (!tokenProblemSaid) {
        tokenProblemSaid = true
        o.logger.error(
          o.refresh
            ? 'Zalo OA refused the renewed access token: check that ZALO_OA_APP_ID belongs to the OA (docs/alerts.md, "Zalo")'
            : 'Zalo OA access token expired or revoked: Zalo messages stop until ZALO_OA_ACCESS_TOKEN is renewed, or set ZALO_OA_REFRESH_TOKEN, ZALO_OA_APP_ID and ZALO_OA_APP_SECRET so it renews itself (docs/alerts.md, "Zalo")',
          { error: answer.error },
        )
      }
      throw new DeliveryError(`zalo: access token refused (error ${answer.error})`, false)
    }
    // Any other error is the OA's judgement of this message or recipient (not a follower, wrong id): like a 4xx.
    throw new DeliveryError(`zalo refused the message (error ${answer.error}: ${answer.message})`, false)
  }

  const queues = o.recipients.map((userId) => ({
    userId,
    queue: createDeliveryQueue({
      name: 'zalo',
      logger: o.logger,
      ...(o.retryMinMs !== undefined ? { retryMinMs: o.retryMinMs } : {}),
      send,
    }),
  }))
  const sum = (k: 'sent' | 'failed' | 'dropped' | 'retries') => queues.reduce((n, q) => n + q.queue.stats[k], 0)
  return {
    /** Over all recipients: one message to each counts once. */
    stats: {
      get sent() {
        return sum('sent')
      },
      get failed() {
        return sum('failed')
      },
      get dropped() {
        return sum('dropped')
      },
      get retries() {
        return sum('retries')
      },
    },
    notify(change: IncidentChange): void {
      const text = formatZaloMessage(change, { ...(o.registry ? { registry: o.registry } : {}), ...(o.mapUrl ? { mapUrl: o.mapUrl } : {}) })
      for (const { userId, queue } of queues) queue.enqueue(JSON.stringify({ recipient: { user_id: userId }, message: { text } }))
    },
    stop(): void {
      for (const q of queues) q.queue.stop()
    },
  }
}
