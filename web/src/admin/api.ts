import { PASSWORD_RULES } from '@mytho/schema/auth'
import { at, atx, type AdminKey } from '../i18n/admin.ts'
import { CSRF_HEADER, type Session } from '../session.ts'

/** A refused request, its answer put in the page's words where the API's message is one it knows. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly apiMessage: string,
  ) {
    super(apiMessage)
  }
  /** In the chosen language: the password rule broken, the last admin, a taken name; else the API's own words. */
  get text(): string {
    const m = this.apiMessage
    if (this.status === 409 && /last enabled admin/.test(m)) return at('lastAdmin')
    if (this.status === 409 && /exists/.test(m)) return at('exists')
    if (this.status === 403) return at('notAllowed')
    const field = /^invalid body field (\w+): (.*)$/.exec(m)
    if (field?.[1] === 'password') {
      const rule = Object.entries(PASSWORD_RULES).find(([, text]) => field[2] === text)
      if (rule) return atx(`pw_${rule[0]}`) ?? m
    }
    if (field?.[1] === 'username') return at('badName')
    return m
  }
}

async function refusal(res: Response): Promise<Refusal> {
  const body = (await res.json().catch(() => null)) as { error?: unknown } | null
  return new Refusal(res.status, typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`)
}

/** The API as this page uses it: GETs and the session's CSRF-carrying POSTs; a 401 asks who is signed in again. */
export function adminApi(session: Session) {
  return {
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`/api/v1${path}`, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      if (res.status === 401) void session.check()
      if (!res.ok) throw await refusal(res)
      return (await res.json()) as T
    },
    async post<T>(path: string, body: unknown = {}): Promise<T> {
      const res = await session.post(path, body)
      if (!res.ok) throw await refusal(res)
      return (await res.json()) as T
    },
    /** A request the session's JSON POST does not cover (PATCH, a file as text), with the same CSRF token. */
    async send<T>(method: 'PATCH' | 'POST', path: string, body: string, contentType: string): Promise<T> {
      const headers: Record<string, string> = { 'content-type': contentType, accept: 'application/json' }
      if (session.me?.csrfToken) headers[CSRF_HEADER] = session.me.csrfToken
      const res = await fetch(`/api/v1${path}`, { method, headers, credentials: 'same-origin', body })
      if (res.status === 401) void session.check()
      if (!res.ok) throw await refusal(res)
      return (await res.json()) as T
    },
  }
}
export type AdminApi = ReturnType<typeof adminApi>

/** The text of an error for the page: a Refusal in its words, anything else (network) as "could not load". */
export const errorText = (err: unknown, fallback: AdminKey = 'loadError'): string => (err instanceof Refusal ? err.text : at(fallback))
