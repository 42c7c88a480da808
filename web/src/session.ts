import type { MeResponse, Role } from '@mytho/schema/auth'

/*
 * Who uses the map (issue #6), as the API's sign-in protocol describes it (api/src/auth/session.ts):
 * GET /auth/me on load; role null means the sign-in page; POST /auth/login sets the HttpOnly session cookie
 * and answers the CSRF token, which every POST echoes in X-CSRF-Token. Without sign-in (AUTH_DISABLED, or an
 * API without an operator store) /auth/me answers `signedIn: false` with a role: today's map, no sign-in page.
 */
const BASE = '/api/v1'
export const CSRF_HEADER = 'X-CSRF-Token'

export type LoginOutcome =
  | { ok: true }
  | { ok: false; reason: 'wrong' }
  | { ok: false; reason: 'locked'; retryAfterS: number }
  | { ok: false; reason: 'failed'; message: string }

const ANONYMOUS_UNKNOWN: MeResponse = { signedIn: false, username: null, role: null, csrfToken: null, expiresAt: null }

export function createSession() {
  let me: MeResponse | undefined
  const listeners = new Set<(me: MeResponse, why: 'changed' | 'expired') => void>()
  let expiryTimer: ReturnType<typeof setTimeout> | undefined

  const set = (next: MeResponse, why: 'changed' | 'expired' = 'changed') => {
    me = next
    clearTimeout(expiryTimer)
    // When the session runs out, ask the API again (an admin may have extended nothing: it is gone).
    if (next.expiresAt !== null) expiryTimer = setTimeout(() => void check(), Math.min(2 ** 31 - 1, Math.max(0, next.expiresAt - Date.now()) + 500))
    for (const f of listeners) f(next, why)
  }

  async function check(): Promise<MeResponse> {
    let next = ANONYMOUS_UNKNOWN
    try {
      const res = await fetch(`${BASE}/auth/me`, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      if (res.ok) next = (await res.json()) as MeResponse
    } catch {
      // unreachable API: the live link shows it; sign-in waits for an answer
      if (me) return me
    }
    const wasSignedIn = me?.signedIn === true
    set(next, wasSignedIn && next.role === null ? 'expired' : 'changed')
    return next
  }

  return {
    get me(): MeResponse | undefined {
      return me
    },
    /** A signed-in operator or admin, or anonymous with an operator role (sign-in off). */
    canAcknowledge: (): boolean => me?.role === 'operator' || me?.role === 'admin',
    needsSignIn: (): boolean => me !== undefined && me.role === null,
    onChange(f: (me: MeResponse, why: 'changed' | 'expired') => void): void {
      listeners.add(f)
    },
    /** Tells every listener the answer already known, if any: for listeners attached after the first check came back. */
    announce(): void {
      if (me) for (const f of listeners) f(me, 'changed')
    },
    check,
    async login(username: string, password: string): Promise<LoginOutcome> {
      let res: Response
      try {
        res = await fetch(`${BASE}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify({ username, password }),
        })
      } catch (err) {
        return { ok: false, reason: 'failed', message: err instanceof Error ? err.message : String(err) }
      }
      if (res.status === 401) return { ok: false, reason: 'wrong' }
      if (res.status === 429) return { ok: false, reason: 'locked', retryAfterS: Math.max(1, Number(res.headers.get('retry-after')) || 60) }
      const body = (await res.json().catch(() => null)) as { username?: string; role?: Role; csrfToken?: string; expiresAt?: number; error?: string } | null
      if (!res.ok || !body?.role || !body.csrfToken || body.username === undefined || body.expiresAt === undefined)
        return { ok: false, reason: 'failed', message: body?.error ?? `HTTP ${res.status}` }
      set({ signedIn: true, username: body.username, role: body.role, csrfToken: body.csrfToken, expiresAt: body.expiresAt })
      return { ok: true }
    },
    async logout(): Promise<void> {
      await post('/auth/logout', {}).catch(() => undefined)
    },
    post,
  }

  /** A JSON POST with the session's CSRF token; a 401 means the session ended: /auth/me is asked again. */
  async function post(path: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (me?.csrfToken) headers[CSRF_HEADER] = me.csrfToken
    const res = await fetch(`${BASE}${path}`, { method: 'POST', headers, credentials: 'same-origin', body: JSON.stringify(body) })
    if (res.status === 401) void check()
    return res
  }
}
export type Session = ReturnType<typeof createSession>
