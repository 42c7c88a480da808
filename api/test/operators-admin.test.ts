import { describe, expect, it } from 'vitest'
import type { AuditEntry, OperatorView } from '@mytho/schema'
import { PASSWORD, startSecuredApi } from './auth-harness.ts'

/*
 * Issue #18: operators administered without curl: re-enable, change role, reset a password, change one's own; the
 * last enabled admin kept; every change in the audit log, which filters by actor, action and time and pages.
 */

const NEW_PASSWORD = 'river tide at Tan Long ferry'

describe('operators administration and the audit log (issue #18)', () => {
  it('an admin resets a password: the old one stops, every session of that operator ends with its live socket', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    const op = await api.signIn('operator')
    const { outcome, socket } = await api.socket(op)
    expect(outcome).toBe('connected')
    const dropped = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)))

    expect(await api.call(admin, 'POST', '/operators/operator1/password', { password: NEW_PASSWORD })).toMatchObject({
      status: 200,
      body: { username: 'operator1', role: 'operator', disabled: false },
    })
    expect(await dropped).toBe('io server disconnect')
    expect((await api.call(op, 'GET', '/devices')).status).toBe(401)
    expect((await api.login('operator1')).status).toBe(401)
    expect((await api.login('operator1', NEW_PASSWORD)).status).toBe(200)
    // The admin's own session is untouched.
    expect((await api.call(admin, 'GET', '/operators')).status).toBe(200)
  })

  it('a reset is held to the password policy, and the 400 names the field and the rule', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    expect(await api.call(admin, 'POST', '/operators/operator1/password', { password: 'short' })).toMatchObject({
      status: 400,
      body: { error: 'invalid body field password: at least 12 characters' },
    })
    expect(await api.call(admin, 'POST', '/operators/operator1/password', { password: 'operator1 is on the night shift' })).toMatchObject({
      status: 400,
      body: { error: 'invalid body field password: must not contain the user name' },
    })
    expect(await api.call(admin, 'POST', '/operators/operator1/password', {})).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid body field password:/) },
    })
    expect((await api.call(admin, 'POST', '/operators/nobody-here/password', { password: NEW_PASSWORD })).status).toBe(404)
    // Nothing changed: the old password still signs in.
    expect((await api.login('operator1')).status).toBe(200)
  })

  it('a disabled operator is enabled again and signs in; their old sessions stay ended', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    const viewer = await api.signIn('viewer')
    expect((await api.call(admin, 'POST', '/operators/viewer1/disable')).status).toBe(200)
    expect((await api.login('viewer1')).status).toBe(401)
    expect(await api.call(admin, 'POST', '/operators/viewer1/enable')).toMatchObject({ status: 200, body: { username: 'viewer1', disabled: false } })
    expect((await api.call(viewer, 'GET', '/devices')).status).toBe(401)
    expect((await api.login('viewer1')).status).toBe(200)
    expect((await api.call(admin, 'POST', '/operators/nobody-here/enable')).status).toBe(404)
    expect((await api.call(admin, 'POST', '/operators/Bad%20Name/enable')).body).toMatchObject({
      error: expect.stringMatching(/^invalid path parameter username/),
    })
  })

  it('a role change holds at once for the open session', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    const viewer = await api.signIn('viewer')
    expect((await api.call(viewer, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' })).status).toBe(403)
    expect(await api.call(admin, 'POST', '/operators/viewer1/role', { role: 'operator' })).toMatchObject({ status: 200, body: { role: 'operator' } })
    expect((await api.call(viewer, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' })).status).toBe(404)
    expect((await api.call(viewer, 'GET', '/auth/me')).body).toMatchObject({ role: 'operator' })
    expect(await api.call(admin, 'POST', '/operators/viewer1/role', { role: 'chief' })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid body field role:/) },
    })
    expect(await api.call(admin, 'POST', '/operators/viewer1/role', { role: 'admin', extra: 1 })).toMatchObject({ status: 400 })
  })

  it('the last enabled admin cannot be demoted or disabled (409); with a second admin it can', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    expect(await api.call(admin, 'POST', '/operators/admin1/role', { role: 'operator' })).toMatchObject({
      status: 409,
      body: { error: 'admin1 is the last enabled admin and cannot be made operator: make another operator admin first' },
    })
    expect((await api.call(admin, 'POST', '/operators/admin1/disable')).status).toBe(400) // not oneself, whatever else
    // Two admins: admin2 disables admin1, then admin1 (still signed in until then) cannot take admin2 down with it.
    expect((await api.call(admin, 'POST', '/operators/operator1/role', { role: 'admin' })).status).toBe(200)
    const admin2 = { ...(await api.signIn('operator')), username: 'operator1' }
    expect(await api.call(admin2, 'POST', '/operators/admin1/disable')).toMatchObject({ status: 200, body: { disabled: true } })
    expect(await api.call(admin2, 'POST', '/operators/operator1/role', { role: 'viewer' })).toMatchObject({
      status: 409,
      body: { error: expect.stringMatching(/last enabled admin/) },
    })
    expect((await api.call(admin2, 'GET', '/operators')).body as OperatorView[]).toContainEqual(
      expect.objectContaining({ username: 'operator1', role: 'admin' }),
    )
    expect((await api.call(admin2, 'POST', '/operators/admin1/enable')).status).toBe(200)
    expect((await api.call(admin2, 'POST', '/operators/operator1/role', { role: 'operator' })).status).toBe(200)
  })

  it('viewers and operators get 403 from every admin route; nobody signed in gets 401', async () => {
    const api = await startSecuredApi()
    const calls: [string, unknown][] = [
      ['/operators/viewer1/enable', undefined],
      ['/operators/viewer1/role', { role: 'admin' }],
      ['/operators/viewer1/password', { password: NEW_PASSWORD }],
      ['/operators/viewer1/disable', undefined],
    ]
    for (const role of ['viewer', 'operator'] as const) {
      const who = await api.signIn(role)
      for (const [path, body] of calls) expect({ role, path, status: (await api.call(who, 'POST', path, body)).status }).toEqual({ role, path, status: 403 })
      expect((await api.call(who, 'GET', '/audit')).status).toBe(403)
    }
    for (const [path, body] of calls) expect((await api.call(undefined, 'POST', path, body)).status).toBe(401)
    // A missing CSRF token is refused too, even for an admin.
    const admin = await api.signIn('admin')
    expect((await api.call(admin, 'POST', '/operators/viewer1/role', { role: 'admin' }, { csrf: false })).status).toBe(403)
    expect((await api.login('viewer1')).status).toBe(200)
    expect(((await api.call(admin, 'GET', '/operators')).body as OperatorView[]).find((o) => o.username === 'viewer1')?.role).toBe('viewer')
  })

  it('anyone signed in changes their own password: the current one is checked, this session stays, the others end', async () => {
    const api = await startSecuredApi()
    const here = await api.signIn('viewer')
    const elsewhere = await api.signIn('viewer')
    expect(await api.call(here, 'POST', '/auth/password', { current: 'not it at all', password: NEW_PASSWORD })).toMatchObject({
      status: 400,
      body: { error: 'invalid body field current: not your current password' },
    })
    expect(await api.call(here, 'POST', '/auth/password', { current: PASSWORD, password: '123456789012' })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid body field password: must not be a sequence/) },
    })
    expect(await api.call(here, 'POST', '/auth/password', { password: NEW_PASSWORD })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid body field current:/) },
    })
    expect((await api.call(here, 'POST', '/auth/password', { current: PASSWORD, password: NEW_PASSWORD }, { csrf: false })).status).toBe(403)
    expect(await api.call(here, 'POST', '/auth/password', { current: PASSWORD, password: NEW_PASSWORD })).toMatchObject({
      status: 200,
      body: { username: 'viewer1', role: 'viewer' },
    })
    expect((await api.call(here, 'GET', '/devices')).status).toBe(200)
    expect((await api.call(elsewhere, 'GET', '/devices')).status).toBe(401)
    expect((await api.login('viewer1')).status).toBe(401)
    expect((await api.login('viewer1', NEW_PASSWORD)).status).toBe(200)
    expect((await api.call(undefined, 'POST', '/auth/password', { current: PASSWORD, password: NEW_PASSWORD })).status).toBe(401)
  })

  it('audits each action with actor and target, filtered by actor, action and time, and paged', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    const viewer = await api.signIn('viewer')
    const before = Date.now()
    expect((await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: NEW_PASSWORD, role: 'viewer' })).status).toBe(201)
    expect((await api.call(admin, 'POST', '/operators/lan.nguyen/role', { role: 'operator' })).status).toBe(200)
    expect((await api.call(admin, 'POST', '/operators/lan.nguyen/disable')).status).toBe(200)
    expect((await api.call(admin, 'POST', '/operators/lan.nguyen/enable')).status).toBe(200)
    expect((await api.call(admin, 'POST', '/operators/lan.nguyen/password', { password: 'mango season in Cho Gao' })).status).toBe(200)
    expect((await api.call(viewer, 'POST', '/auth/password', { current: PASSWORD, password: NEW_PASSWORD })).status).toBe(200)
    const after = Date.now() + 1

    const audit = async (q: string) => {
      const r = await api.call<AuditEntry[]>(admin, 'GET', `/audit?${q}`)
      expect(r.status).toBe(200)
      return r.body
    }
    const byAdmin = await audit(`actor=admin1&from=${before}&to=${after}`)
    expect(byAdmin.map((e) => [e.action, e.target])).toEqual([
      ['operator-password', 'lan.nguyen'],
      ['operator-enable', 'lan.nguyen'],
      ['operator-disable', 'lan.nguyen'],
      ['operator-role', 'lan.nguyen'],
      ['operator-create', 'lan.nguyen'],
    ])
    expect(byAdmin.find((e) => e.action === 'operator-role')?.detail).toEqual({ role: 'operator', was: 'viewer' })
    expect(JSON.stringify(byAdmin)).not.toContain('mango season')
    expect((await audit('action=password-change')).map((e) => [e.actor, e.target])).toEqual([['viewer1', 'viewer1']])
    expect((await audit('action=operator-enable&actor=admin1')).map((e) => e.target)).toEqual(['lan.nguyen'])
    // Time: nothing before `before` but the sign-ins; nothing at or after `after`.
    expect((await audit(`to=${before}`)).every((e) => e.action === 'sign-in')).toBe(true)
    expect(await audit(`from=${after}`)).toEqual([])

    // Pages of 2 by the `before` cursor give the same entries as one page.
    const all = await audit(`actor=admin1&from=${before}`)
    const pages: AuditEntry[] = []
    let cursor = ''
    for (;;) {
      const page = await audit(`actor=admin1&from=${before}&limit=2${cursor}`)
      pages.push(...page)
      if (page.length < 2) break
      cursor = `&before=${page.at(-1)!.id}`
    }
    expect(pages).toEqual(all)
    expect(pages).toHaveLength(5)

    for (const [q, name] of [
      ['action=operator-dance', 'action'],
      ['from=yesterday', 'from'],
      [`from=${after}&to=${before}`, 'to'],
      ['limit=0', 'limit'],
      ['before=-3', 'before'],
    ]) {
      const r = await api.call<{ error: string }>(admin, 'GET', `/audit?${q}`)
      expect({ q, status: r.status, error: r.body.error.startsWith(`invalid query parameter ${name}:`) }).toEqual({ q, status: 400, error: true })
    }
  })
})
