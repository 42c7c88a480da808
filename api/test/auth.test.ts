import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openOperatorStore } from '@mytho/directory'
import { passwordProblem, type Role } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { makeTempDir, waitFor } from '@mytho/testing'
import { demoAdminPath } from '../src/auth/first-admin.ts'
import { routeDocs } from '../src/openapi.ts'
import { startSecuredApi, type Agent } from './auth-harness.ts'

type SecuredApi = Awaited<ReturnType<typeof startSecuredApi>>
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/**
 * `tries` wrong passwords for `username` from `from`, each sent as soon as the throttle lets it through: on a 429 the
 * API's clock is moved on by the Retry-After. Returns the waits the API asked for, in order.
 */
async function guess(
  api: SecuredApi,
  clock: { now: number },
  from: { address?: string; forwardedFor?: string },
  username: string,
  tries: number,
): Promise<number[]> {
  const waits: number[] = []
  for (let done = 0; done < tries; ) {
    const r = await api.loginFrom(from, username, `wrong password ${done}`)
    if (r.status === 429) {
      expect(r.retryAfter).toBeGreaterThan(0)
      waits.push(r.retryAfter!)
      clock.now += r.retryAfter! * 1000
      continue
    }
    expect(r.status).toBe(401)
    done++
  }
  return waits
}

/** A real entry point (`api/src/main.ts`, `api/src/create-operator.ts`) in its own process; resolves when it exits, or when `until` shows in its output. */
function runEntry(entry: string, args: string[], env: Record<string, string>, until?: RegExp): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
  let output = ''
  child.stdout.on('data', (b: Buffer) => (output += b.toString()))
  child.stderr.on('data', (b: Buffer) => (output += b.toString()))
  let code: number | null | undefined
  child.once('exit', (c) => (code = c))
  return waitFor(() => (code !== undefined || until?.test(output) ? { code: code ?? null, output } : undefined), {
    timeoutMs: 20_000,
    what: `${entry} to exit`,
  })
}

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
      const method = r.method.toUpperCase() as 'GET' | 'POST' | 'PATCH'
      const path = concrete(r.path)
      const body = method === 'GET' ? undefined : {}
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
    expect(await api.call(op, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' }, { csrf: false })).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/x-csrf-token/) },
    })
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

  it('admins create operators; a disabled operator is signed out at once', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    expect(await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: 'short', role: 'operator' })).toMatchObject({
      status: 400,
      body: { error: 'invalid body field password: at least 12 characters' },
    })
    expect(await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: 'a long enough password', role: 'operator' })).toMatchObject({
      status: 201,
      body: { username: 'lan.nguyen', role: 'operator', disabled: false },
    })
    const viewer = await api.signIn('viewer')
    expect((await api.call(admin, 'POST', '/operators/viewer1/disable')).status).toBe(200)
    expect((await api.call(viewer, 'GET', '/devices')).status).toBe(401)
    expect((await api.login('viewer1')).status).toBe(401)
  })

  it('AUTH_DISABLED: anonymous callers view and acknowledge naming themselves, but are never admins', async () => {
    const api = await startSecuredApi({ AUTH_DISABLED: true })
    expect((await api.call(undefined, 'GET', '/devices')).status).toBe(200)
    expect((await api.call(undefined, 'POST', '/incidents/no-such-incident/acknowledge', { note: 'x' })).body).toMatchObject({
      error: expect.stringMatching(/^invalid body field by/),
    })
    expect((await api.call(undefined, 'GET', '/admin/devices')).status).toBe(403)
    expect((await api.socket(undefined)).outcome).toBe('connected')
  })
})

describe('sign-in throttle: the guesser waits, not the operator (issue #15)', () => {
  it("a stranger's ten wrong passwords for admin1 from one address do not keep admin1 out: the right password from another address signs in", async () => {
    const clock = { now: Date.now() }
    const api = await startSecuredApi({}, undefined, silentLogger, () => clock.now)
    const stranger = { address: '127.0.0.2' }
    await guess(api, clock, stranger, 'admin1', 10)
    // The stranger's address still waits, right password or not...
    expect((await api.loginFrom(stranger, 'admin1')).status).toBe(429)
    // ...the operator, from another address, does not.
    expect((await api.loginFrom({ address: '127.0.0.3' }, 'admin1')).status).toBe(200)
    // The audit log keeps every failed sign-in with the address it came from.
    const admin = await api.signIn('admin')
    const failed = (await api.call(admin, 'GET', '/audit?actor=admin1&action=sign-in-failed')).body as { ip: string }[]
    expect(failed.map((e) => e.ip)).toEqual(Array(10).fill('127.0.0.2'))
  })

  it('the guessing address is answered 429 with Retry-After, doubling with each failure up to LOGIN_LOCKOUT_S; the right password from it waits too', async () => {
    const clock = { now: Date.now() }
    const api = await startSecuredApi({ LOGIN_MAX_FAILURES: 3, LOGIN_LOCKOUT_S: 60 }, undefined, silentLogger, () => clock.now)
    const stranger = { address: '127.0.0.2' }
    // 3 failures free, then 1 s, 2 s, 4 s … capped at LOGIN_LOCKOUT_S.
    expect(await guess(api, clock, stranger, 'operator1', 10)).toEqual([1, 2, 4, 8, 16, 32, 60])
    expect(await api.loginFrom(stranger, 'operator1')).toEqual({ status: 429, retryAfter: 60, error: 'too many failed sign-ins; try again in 60 s' })
    expect((await api.loginFrom({ address: '127.0.0.3' }, 'operator1')).status).toBe(200)
    // Once the wait is over the right password signs in from there too, and that address's count for the name starts again.
    clock.now += 60_000
    expect((await api.loginFrom(stranger, 'operator1')).status).toBe(200)
    expect((await api.loginFrom(stranger, 'operator1', 'a typo')).status).toBe(401)
  })

  it('an address that fails over many names is locked for LOGIN_LOCKOUT_S, whatever name it tries; other addresses are not', async () => {
    const clock = { now: Date.now() }
    const api = await startSecuredApi({ LOGIN_MAX_FAILURES: 3 }, undefined, silentLogger, () => clock.now)
    const sprayer = { address: '127.0.0.4' }
    // 4 × LOGIN_MAX_FAILURES failures over any names, one per name (no name's own count is reached).
    for (let i = 0; i < 12; i++) expect((await api.loginFrom(sprayer, `ghost${i}`, 'guess')).status).toBe(401)
    expect(await api.loginFrom(sprayer, 'viewer1')).toMatchObject({ status: 429, retryAfter: 900 })
    expect(await api.loginFrom(sprayer, 'ghost99', 'guess')).toMatchObject({ status: 429, retryAfter: 900 })
    expect((await api.loginFrom({ address: '127.0.0.5' }, 'viewer1')).status).toBe(200)
    const admin = await api.signIn('admin')
    expect((await api.call(admin, 'GET', '/audit?actor=ghost0')).body).toEqual([expect.objectContaining({ action: 'sign-in-failed', ip: '127.0.0.4' })])
  })
})

describe('password policy wherever a password is set (issue #15)', () => {
  it('POST /operators refuses a repeated character, a common password, a sequence, a keyboard run and the user name, with a 400 naming the rule', async () => {
    const api = await startSecuredApi()
    const admin = await api.signIn('admin')
    const refused: [string, string][] = [
      ['aaaaaaaaaaaa', 'must not be one character repeated'],
      ['password1234', 'is too common (on the list of common passwords)'],
      ['123456789012', 'must not be a sequence or a keyboard pattern (like 123456789012 or qwertyuiop12)'],
      ['qwertyuiop12', 'must not be a sequence or a keyboard pattern (like 123456789012 or qwertyuiop12)'],
      ['lan.nguyen-2024!', 'must not contain the user name'],
    ]
    for (const [password, rule] of refused)
      expect({ password, ...(await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password, role: 'operator' })) }).toMatchObject({
        password,
        status: 400,
        body: { error: `invalid body field password: ${rule}` },
      })
    expect(((await api.call(admin, 'GET', '/operators')).body as { username: string }[]).map((o) => o.username)).not.toContain('lan.nguyen')
    expect((await api.call(admin, 'POST', '/operators', { username: 'lan.nguyen', password: 'river market at dawn', role: 'operator' })).status).toBe(201)
  })

  it('ADMIN_PASSWORD=aaaaaaaaaaaa stops the first start with a message naming ADMIN_PASSWORD, never the password', async () => {
    const tmp = makeTempDir('mytho-api-weak-admin-')
    onTestFinished(() => tmp.cleanup())
    const env = { DATA_DIR: tmp.path, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', API_MQTT_PASSWORD: 'api-service-password-test', MQTT_URL: 'mqtt://127.0.0.1:9' }
    // Exits, or (the old behaviour) creates the admin and goes on starting.
    const { code, output } = await runEntry('api/src/main.ts', [], { ...env, ADMIN_PASSWORD: 'aaaaaaaaaaaa' }, /first admin created/)
    expect(output).toMatch(/ADMIN_PASSWORD: must not be one character repeated/)
    expect(output).not.toContain('aaaaaaaaaaaa')
    expect(code).toBe(1)
    const operators = openOperatorStore(tmp.path)
    onTestFinished(() => operators.close())
    expect(await operators.count()).toBe(0)
  })

  it('create-operator refuses a weak OPERATOR_PASSWORD naming the rule, and generates one that passes the policy', async () => {
    const tmp = makeTempDir('mytho-api-create-operator-')
    onTestFinished(() => tmp.cleanup())
    const weak = await runEntry('api/src/create-operator.ts', ['lan.nguyen', 'operator'], { DATA_DIR: tmp.path, OPERATOR_PASSWORD: 'aaaaaaaaaaaa' })
    expect(weak.code).toBe(2)
    expect(weak.output).toMatch(/OPERATOR_PASSWORD: must not be one character repeated/)
    expect(weak.output).not.toContain('aaaaaaaaaaaa')
    const made = await runEntry('api/src/create-operator.ts', ['lan.nguyen', 'operator'], { DATA_DIR: tmp.path })
    expect(made.code).toBe(0)
    const password = /password \(shown once\): (\S+)/.exec(made.output)?.[1]
    expect(password).toBeDefined()
    expect(passwordProblem(password!, 'lan.nguyen')).toBeUndefined()
    const operators = openOperatorStore(tmp.path)
    onTestFinished(() => operators.close())
    expect(await operators.verify('lan.nguyen', password!)).toEqual({ username: 'lan.nguyen', role: 'operator' })
  })

  it("a demo start's generated admin password passes the policy", async () => {
    const tmp = makeTempDir('mytho-api-demo-admin-')
    onTestFinished(() => tmp.cleanup())
    const api = await startSecuredApi({ AUTH_DEMO_ADMIN: true }, tmp.path)
    const { username, password } = JSON.parse(readFileSync(demoAdminPath(tmp.path), 'utf8')) as { username: string; password: string }
    expect(passwordProblem(password, username)).toBeUndefined()
    expect((await api.login(username, password)).status).toBe(200)
  })
})
