import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@mytho/runtime'
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

  const twoNodes = async (config: Record<string, unknown> = {}, clock?: () => number) => {
    // Each test on its own database of the one redis-server: a clean slate, nothing flushed under another test.
    const url = `${redis.url}/${++db}`
    const a = await startSecuredApi({ REDIS_URL: url, ...config }, undefined, silentLogger, clock)
    const b = await startSecuredApi({ REDIS_URL: url, ...config }, undefined, silentLogger, clock)
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

  it('an operator disabled on node A is signed out on node B at once, and cannot sign in on either', async () => {
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

  it("a (name, address) pair's failures count over both nodes and its wait holds on both; the right password from elsewhere signs in; an address over its cap is locked on both", async () => {
    // Behind the cluster's TLS proxy: the client address is the X-Forwarded-For it sends.
    const clock = { now: Date.now() }
    const { a, b } = await twoNodes({ LOGIN_MAX_FAILURES: 3, BEHIND_PROXY: true }, () => clock.now)
    const stranger = { forwardedFor: '203.0.113.7' }
    expect((await a.loginFrom(stranger, 'operator1', 'wrong password 1')).status).toBe(401)
    expect((await b.loginFrom(stranger, 'operator1', 'wrong password 2')).status).toBe(401)
    expect((await a.loginFrom(stranger, 'operator1', 'wrong password 3')).status).toBe(401)
    for (const node of [b, a]) expect(await node.loginFrom(stranger, 'operator1')).toMatchObject({ status: 429, retryAfter: 1 })
    // The operator, from another address, is not held up by the stranger's guesses.
    expect((await b.loginFrom({ forwardedFor: '198.51.100.20' }, 'operator1')).status).toBe(200)
    // The stranger's next failure, on the other node, doubles the wait on both.
    clock.now += 1000
    expect((await b.loginFrom(stranger, 'operator1', 'wrong password 4')).status).toBe(401)
    for (const node of [a, b]) expect(await node.loginFrom(stranger, 'operator1')).toMatchObject({ status: 429, retryAfter: 2 })
    // An address trying many names over both nodes: 4 × LOGIN_MAX_FAILURES failures lock it for LOGIN_LOCKOUT_S, whatever the name.
    const sprayer = { forwardedFor: '203.0.113.99' }
    for (let i = 0; i < 12; i++) expect((await (i % 2 === 0 ? a : b).loginFrom(sprayer, `ghost${i}`, 'guess')).status).toBe(401)
    for (const node of [a, b]) expect(await node.loginFrom(sprayer, 'viewer1')).toMatchObject({ status: 429, retryAfter: 900 })
    expect((await a.loginFrom({ forwardedFor: '198.51.100.21' }, 'viewer1')).status).toBe(200)
  })

  it('the first admin is created once when two nodes start at once with no operator', async () => {
    const url = `${redis.url}/${++db}`
    const config = { REDIS_URL: url, ADMIN_USERNAME: 'chief', ADMIN_PASSWORD: 'a long admin password' }
    const [a, b] = await Promise.all([startSecuredApi(config), startSecuredApi(config)])
    const admin = await waitFor(
      async () => {
        const res = await b.login('chief', 'a long admin password')
        return res.status === 200 ? res : undefined
      },
      { what: 'the first admin signing in on node B' },
    )
    expect(admin.status).toBe(200)
    const me = await a.signIn('admin')
    const created = ((await a.call(me, 'GET', '/audit?action=operator-create')).body as { target: string }[]).filter((e) => e.target === 'chief')
    expect(created).toHaveLength(1)
  })
})
