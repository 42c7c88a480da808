import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer, waitFor, type RedisServer } from '@mytho/testing'
import { startSecuredApi } from './auth-harness.ts'

/*
 * Two API nodes on different hosts: each its own DATA_DIR (nothing shared on disk), one REDIS_URL. Operators,
 * sessions, the audit log and sign-in lockouts are in Redis, so a node sees what the other did.
 */
describe('sign-in shared by API nodes on Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis?.stop())

  const twoNodes = async (config: Record<string, unknown> = {}) => {
    // Each test on its own database of the one redis-server: a clean slate, nothing flushed under another test.
    const url = `${redis.url}/${++db}`
    const a = await startSecuredApi({ REDIS_URL: url, ...config })
    const b = await startSecuredApi({ REDIS_URL: url, ...config })
    return { a, b }
  }
  let db = 0

  it('a session opened on node A works on node B; a sign-out on A ends it on B, its live socket included', async () => {
    const { a, b } = await twoNodes()
    const op = await a.signIn('operator')
    expect((await b.call(op, 'GET', '/auth/me')).body).toMatchObject({ signedIn: true, username: 'operator1', role: 'operator' })
    expect((await b.call(op, 'GET', '/devices')).status).toBe(200)
    // The CSRF token given by A is the one B checks.
    expect((await b.call(op, 'POST', '/auth/logout', undefined, { csrf: false })).status).toBe(403)
    const { outcome, socket } = await b.socket(op)
    expect(outcome).toBe('connected')
    const ended = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)))

    expect((await a.call(op, 'POST', '/auth/logout')).status).toBe(200)
    expect((await b.call(op, 'GET', '/auth/me')).body).toMatchObject({ signedIn: false })
    expect((await b.call(op, 'GET', '/devices')).status).toBe(401)
    expect(await ended).toBe('io server disconnect')
  })

  it("an operator disabled on node A is signed out on node B at once, and cannot sign in on either", async () => {
    const { a, b } = await twoNodes()
    const viewer = await b.signIn('viewer')
    const { socket } = await b.socket(viewer)
    const ended = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)))
    const admin = await a.signIn('admin')
    expect((await a.call(admin, 'POST', '/operators/viewer1/disable')).body).toMatchObject({ username: 'viewer1', disabled: true })
    expect((await b.call(viewer, 'GET', '/devices')).status).toBe(401)
    expect(await ended).toBe('io server disconnect')
    expect((await b.login('viewer1')).status).toBe(401)
    expect((await a.login('viewer1')).status).toBe(401)
    // B lists what A changed, and the audit log is one log, written by both nodes in order.
    const adminOnB = await b.signIn('admin')
    expect((await b.call(adminOnB, 'GET', '/operators')).body).toContainEqual(expect.objectContaining({ username: 'viewer1', disabled: true }))
    const audit = (await b.call(adminOnB, 'GET', '/audit?limit=10')).body as { action: string; actor: string; target: string | null }[]
    expect(audit.slice(0, 5).map((e) => `${e.actor} ${e.action}${e.target ? ` ${e.target}` : ''}`)).toEqual([
      'admin1 sign-in',
      'viewer1 sign-in-failed',
      'viewer1 sign-in-failed',
      'admin1 operator-disable viewer1',
      'admin1 sign-in',
    ])
  })

  it('a lockout counts failed sign-ins over both nodes, and holds on both', async () => {
    const { a, b } = await twoNodes({ LOGIN_MAX_FAILURES: 3 })
    expect((await a.login('operator1', 'wrong password 1')).status).toBe(401)
    expect((await b.login('operator1', 'wrong password 2')).status).toBe(401)
    expect((await a.login('operator1', 'wrong password 3')).status).toBe(401)
    for (const node of [b, a]) {
      const locked = await node.login('operator1')
      expect(locked.status).toBe(429)
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800)
    }
    // Another name is not locked.
    expect((await b.login('viewer1')).status).toBe(200)
  })

  it('the first admin is created once when two nodes start at once with no operator', async () => {
    const url = `${redis.url}/${++db}`
    const config = { REDIS_URL: url, ADMIN_USERNAME: 'chief', ADMIN_PASSWORD: 'a long admin password' }
    const [a, b] = await Promise.all([startSecuredApi(config), startSecuredApi(config)])
    const admin = await waitFor(async () => {
      const res = await b.login('chief', 'a long admin password')
      return res.status === 200 ? res : undefined
    }, { what: 'the first admin signing in on node B' })
    expect(admin.status).toBe(200)
    const me = await a.signIn('admin')
    const created = ((await a.call(me, 'GET', '/audit?action=operator-create')).body as { target: string }[]).filter((e) => e.target === 'chief')
    expect(created).toHaveLength(1)
  })
})
