import { describe, expect, it } from 'vitest'
import type { Role } from '@mytho/schema'
import { routeDocs } from '../src/openapi.ts'
import { PASSWORD, startSecuredApi, type Agent } from './auth-harness.ts'

const LOWER: Record<Role, Role | undefined> = { viewer: undefined, operator: 'viewer', admin: 'operator' }

/** A concrete path for a documented template: ids that do not exist, so a permitted call changes nothing. */
const concrete = (path: string) => path.replace('{id}', 'no-such-thing').replace('{username}', 'no-such-operator')

describe('sign-in and roles on every route', () => {
  it('every documented route refuses anonymous (401) and a too-small role (403), and lets its role through', async () => {
    const api = await startSecuredApi()
    const agents: Record<Role, Agent> = { viewer: await api.signIn('viewer'), operator: await api.signIn('operator'), admin: await api.signIn('admin') }
    const guarded = routeDocs.filter((r) => r.role !== undefined)
    expect(guarded.length).toBeGreaterThan(15)
    for (const r of guarded) {
      const method = r.method.toUpperCase() as 'GET' | 'POST'
      const path = concrete(r.path)
      const body = method === 'POST' ? {} : undefined
      const label = `${r.method} ${r.path}`
      expect({ label, status: (await api.call(undefined, method, path, body)).status }).toEqual({ label, status: 401 })
      const lower = LOWER[r.role!]
      if (lower) expect({ label, lower, status: (await api.call(agents[lower], method, path, body)).status }).toEqual({ label, lower, status: 403 })
      const allowed = (await api.call(agents[r.role!], method, path, body)).status
      expect({ label, allowed: allowed === 401 || allowed === 403 }).toEqual({ label, allowed: false })
    }
    // Public routes answer anonymous callers: probes and the sign-in itself.
    for (const r of routeDocs.filter((d) => d.role === undefined && d.method === 'get')) expect((await api.call(undefined, 'GET', r.path)).status).toBe(200)
  })

  it('refuses a live socket without a session, and takes a viewer', async () => {
    const api = await startSecuredApi()
    expect((await api.socket(undefined)).outcome).toBe('sign-in required')
    const viewer = await api.signIn('viewer')
    const { outcome, socket } = await api.socket(viewer)
    expect(outcome).toBe('connected')
    // Signing out ends the session's live socket too.
    const ended = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)))
    expect((await api.call(viewer, 'POST', '/auth/logout')).status).toBe(200)
    expect(await ended).toBe('io server disconnect')
    expect((await api.socket(viewer)).outcome).toBe('sign-in required')
  })

  it('a POST without the session CSRF token is refused; sign-out ends the session', async () => {
    const api = await startSecuredApi()
    const op = await api.signIn('operator')
    expect(await api.call(op, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' }, { csrf: false })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/x-csrf-token/) } })
    expect((await api.call(op, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' })).status).toBe(404)
    expect((await api.call(op, 'GET', '/auth/me')).body).toMatchObject({ signedIn: true, username: 'operator1', role: 'operator', csrfToken: op.csrf })
    expect((await api.call(op, 'POST', '/auth/logout')).status).toBe(200)
    expect((await api.call(op, 'GET', '/devices')).status).toBe(401)
    expect((await api.call(op, 'GET', '/auth/me')).body).toMatchObject({ signedIn: false, role: null })
  })

  it('session cookie is HttpOnly and SameSite=Strict; the CSRF cookie is readable', async () => {
    const api = await startSecuredApi()
    const res = await api.login('viewer1')
    const cookies = res.headers.getSetCookie()
    expect(cookies.find((c) => c.startsWith('mytho_session='))).toMatch(/HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/)
    expect(cookies.find((c) => c.startsWith('mytho_csrf='))).not.toMatch(/HttpOnly/)
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
  })

  it('locks a user name after repeated failures, even for the right password, and audits the attempts', async () => {
    const api = await startSecuredApi({ LOGIN_MAX_FAILURES: 3 })
    for (let i = 0; i < 3; i++) expect((await api.login('operator1', 'wrong password')).status).toBe(401)
    const locked = await api.login('operator1', PASSWORD)
    expect(locked.status).toBe(429)
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another name from the same address is not locked yet (the address limit is 4× the name's).
    expect((await api.login('viewer1', PASSWORD)).status).toBe(200)
    const admin = await api.signIn('admin')
    const log = (await api.call(admin, 'GET', '/audit?actor=operator1')).body as { action: string }[]
    expect(log.map((e) => e.action)).toEqual(['sign-in-failed', 'sign-in-failed', 'sign-in-failed'])
  })

  it('admins create operators; a disabled operator is signed out at once', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    expect(await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: 'short', role: 'operator' })).toMatchObject({ status: 400, body: { error: 'invalid body field password: at least 12 characters' } })
    expect(await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: 'a long enough password', role: 'operator' })).toMatchObject({ status: 201, body: { username: 'lan.nguyen', role: 'operator', disabled: false } })
    const viewer = await api.signIn('viewer')
    expect((await api.call(admin, 'POST', '/operators/viewer1/disable')).status).toBe(200)
    expect((await api.call(viewer, 'GET', '/devices')).status).toBe(401)
    expect((await api.login('viewer1')).status).toBe(401)
  })

  it('AUTH_DISABLED: anonymous callers view and acknowledge naming themselves, but are never admins', async () => {
    const api = await startSecuredApi({ AUTH_DISABLED: true })
    expect((await api.call(undefined, 'GET', '/devices')).status).toBe(200)
    expect((await api.call(undefined, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' })).body).toMatchObject({ error: expect.stringMatching(/^invalid body field by/) })
    expect((await api.call(undefined, 'GET', '/admin/devices')).status).toBe(403)
    expect((await api.socket(undefined)).outcome).toBe('connected')
  })
})
