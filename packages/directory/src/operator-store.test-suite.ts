import { describe, expect, it } from 'vitest'
import type { OperatorStore } from './operator-store.ts'

/*
 * The behaviour every OperatorStore owes the API; run on a real SQLite file (operator-store.test.ts) and a
 * real redis-server (operator-store-redis.test.ts). `open()` twice is two API nodes (or processes) on one store.
 */

export interface OperatorBackend {
  open(): OperatorStore
  /** Everything the backend holds, as text, to look for secrets in. */
  dump(): Promise<string>
}
export type MakeOperatorBackend = () => Promise<OperatorBackend>

const PASSWORD = 'correct horse battery staple'
const HOUR = 3_600_000

export function runOperatorStoreContract(name: string, make: MakeOperatorBackend): void {
  describe(`operator store contract: ${name}`, () => {
    it('creates a name once, even when two nodes create it at once; lists and counts', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      expect(await a.count()).toBe(0)
      const won = await Promise.all([a.create('admin', PASSWORD, 'admin', 1000), c.create('admin', 'another password!', 'admin', 1000)])
      expect(won.filter(Boolean)).toHaveLength(1)
      expect(await a.create('viewer1', PASSWORD, 'viewer', 2000)).toBe(true)
      expect(await c.count()).toBe(2)
      expect(await c.list()).toEqual([
        { username: 'admin', role: 'admin', disabled: false, createdAt: 1000, lastSignInAt: null },
        { username: 'viewer1', role: 'viewer', disabled: false, createdAt: 2000, lastSignInAt: null },
      ])
      expect(await a.setDisabled('nobody', true)).toBe(false)
    })

    it('verifies a password; a disabled or unknown operator gets nothing, and an unknown name costs as long as a wrong password', async () => {
      const b = await make()
      const s = b.open()
      await s.create('op1', PASSWORD, 'operator', 1000)
      expect(await s.verify('op1', PASSWORD)).toEqual({ username: 'op1', role: 'operator' })
      expect(await s.verify('op1', 'wrong')).toBeUndefined()
      expect(await s.verify('ghost', PASSWORD)).toBeUndefined()
      const time = async (f: () => Promise<unknown>) => {
        const t = performance.now()
        await f()
        return performance.now() - t
      }
      const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
      const wrong: number[] = []
      const unknown: number[] = []
      for (let i = 0; i < 3; i++) {
        wrong.push(await time(() => s.verify('op1', 'wrong')))
        unknown.push(await time(() => s.verify('ghost', 'wrong')))
      }
      // Both run one scrypt (N=16384, r=8: ≥ 20 ms even on a fast core); without the dummy check an unknown name
      // answers in well under 1 ms. A floor, not a ratio of the two: on a loaded machine either median can triple.
      expect(median(wrong)).toBeGreaterThan(5)
      expect(median(unknown)).toBeGreaterThan(5)
      expect(await s.setDisabled('op1', true)).toBe(true)
      expect(await s.verify('op1', PASSWORD)).toBeUndefined()
    })

    it('a session opened on one node works on the other until it is closed there or expires', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      await a.create('op1', PASSWORD, 'operator', 1000)
      const now = Date.now()
      const { token, session } = await a.openSession('op1', HOUR, now)
      expect(session).toMatchObject({ username: 'op1', role: 'operator', expiresAt: now + HOUR })
      expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{32}$/)
      expect(await c.session(token, now + 1)).toEqual(session)
      expect(await c.session(token, now + HOUR)).toBeUndefined()
      expect(await c.session(`${token}x`, now)).toBeUndefined()
      expect((await c.list())[0]!.lastSignInAt).toBe(now)
      await a.closeSession(token)
      expect(await c.session(token, now + 1)).toBeUndefined()
      await c.closeSession(token) // twice is fine
      await expect(a.openSession('ghost', HOUR, now)).rejects.toThrow(/no operator ghost/)
    })

    it("disabling an operator on one node ends all of that operator's sessions on every node, and only theirs", async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      await a.create('op1', PASSWORD, 'operator', 1000)
      await a.create('op2', PASSWORD, 'operator', 1000)
      const now = Date.now()
      const one = await c.openSession('op1', HOUR, now)
      const two = await a.openSession('op1', HOUR, now)
      const other = await a.openSession('op2', HOUR, now)
      expect(await a.setDisabled('op1', true)).toBe(true)
      expect(await c.session(one.token, now + 1)).toBeUndefined()
      expect(await a.session(two.token, now + 1)).toBeUndefined()
      expect(await c.session(other.token, now + 1)).toBeDefined()
      // Enabling again does not bring old sessions back.
      expect(await c.setDisabled('op1', false)).toBe(true)
      expect(await a.session(one.token, now + 1)).toBeUndefined()
      expect(await a.verify('op1', PASSWORD)).toEqual({ username: 'op1', role: 'operator' })
    })

    it('stores only scrypt hashes of passwords and sha256 of session tokens', async () => {
      const b = await make()
      const s = b.open()
      await s.create('op1', PASSWORD, 'operator', 1000)
      const { token, session } = await s.openSession('op1', HOUR, Date.now())
      const all = await b.dump()
      expect(all).toContain('scrypt$')
      expect(all).not.toContain(PASSWORD)
      expect(all).not.toContain(token)
      expect(all).toContain(session.csrfToken) // not a secret on its own: it is also in a readable cookie
    })

    it('keeps the audit log in write order across nodes, newest first, pageable and filtered by actor and action', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const nodes = [a, c]
      for (let i = 0; i < 12; i++)
        await nodes[i % 2]!.audit(
          {
            actor: i % 3 === 0 ? 'admin' : 'op1',
            action: i % 2 === 0 ? 'sign-in' : 'acknowledge',
            target: i % 4 === 0 ? `t${i}` : undefined,
            detail: i === 5 ? { n: 5, why: 'Đê' } : undefined,
            ip: '10.0.0.1',
          },
          1000 + i,
        )
      const all = await c.auditLog({ limit: 100 })
      expect(all.map((e) => e.ts)).toEqual([...Array(12).keys()].map((i) => 1011 - i))
      const ids = all.map((e) => e.id)
      expect([...ids].sort((x, y) => y - x)).toEqual(ids)
      expect(new Set(ids).size).toBe(12)
      expect(all.find((e) => e.ts === 1005)).toEqual({
        id: expect.any(Number),
        ts: 1005,
        actor: 'op1',
        action: 'acknowledge',
        target: null,
        detail: { n: 5, why: 'Đê' },
        ip: '10.0.0.1',
      })
      expect(all.find((e) => e.ts === 1004)).toMatchObject({ target: 't4', detail: null })

      const page1 = await a.auditLog({ limit: 5 })
      const page2 = await a.auditLog({ limit: 5, before: page1.at(-1)!.id })
      const page3 = await a.auditLog({ limit: 5, before: page2.at(-1)!.id })
      expect([...page1, ...page2, ...page3]).toEqual(all)
      expect(page3).toHaveLength(2)

      expect((await a.auditLog({ limit: 100, actor: 'admin' })).map((e) => e.ts)).toEqual([1009, 1006, 1003, 1000])
      expect((await a.auditLog({ limit: 100, action: 'acknowledge' })).map((e) => e.ts)).toEqual([1011, 1009, 1007, 1005, 1003, 1001])
      expect((await a.auditLog({ limit: 100, actor: 'admin', action: 'acknowledge' })).map((e) => e.ts)).toEqual([1009, 1003])
      expect((await a.auditLog({ limit: 1, actor: 'admin', action: 'acknowledge', before: all.find((e) => e.ts === 1009)!.id })).map((e) => e.ts)).toEqual([
        1003,
      ])
      expect(await a.auditLog({ limit: 10, actor: 'nobody' })).toEqual([])
    })

    it('never disables or demotes the last enabled admin, even when two admins act on each other at once', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      await a.create('admin1', PASSWORD, 'admin', 1000)
      await a.create('op1', PASSWORD, 'operator', 1000)
      expect(await a.setDisabled('admin1', true)).toBe('last-admin')
      expect(await a.setRole('admin1', 'operator')).toBe('last-admin')
      expect(await a.setRole('admin1', 'admin')).toBe(true) // keeping the role is no demotion
      expect(await a.setRole('ghost', 'viewer')).toBe(false)
      expect(await a.setDisabled('ghost', true)).toBe(false)
      // A disabled admin does not count: with admin2 disabled, admin1 is still the last one.
      await a.create('admin2', PASSWORD, 'admin', 1000)
      expect(await c.setDisabled('admin2', true)).toBe(true)
      expect(await c.setRole('admin1', 'viewer')).toBe('last-admin')
      expect(await c.setDisabled('admin2', true)).toBe(true) // already disabled: still fine
      expect(await a.setDisabled('admin2', false)).toBe(true)
      const both = await Promise.all([a.setDisabled('admin1', true), c.setDisabled('admin2', true)])
      expect(both.filter((r) => r === true)).toHaveLength(1)
      expect(both).toContain('last-admin')
      expect((await a.list()).filter((o) => o.role === 'admin' && !o.disabled)).toHaveLength(1)
      // Promoting and demoting others works, and a role holds for open sessions at once.
      const now = Date.now()
      const { token } = await a.openSession('op1', HOUR, now)
      expect(await a.setRole('op1', 'viewer')).toBe(true)
      expect(await c.session(token, now + 1)).toMatchObject({ username: 'op1', role: 'viewer' })
      expect(await c.verify('op1', PASSWORD)).toEqual({ username: 'op1', role: 'viewer' })
    })

    it("a new password ends the operator's sessions on every node, but the one kept; the old password stops", async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      await a.create('op1', PASSWORD, 'operator', 1000)
      await a.create('op2', PASSWORD, 'operator', 1000)
      const now = Date.now()
      const one = await a.openSession('op1', HOUR, now)
      const two = await c.openSession('op1', HOUR, now)
      const other = await c.openSession('op2', HOUR, now)
      expect(await c.setPassword('op1', 'a brand new passphrase')).toBe(true)
      expect(await a.session(one.token, now + 1)).toBeUndefined()
      expect(await c.session(two.token, now + 1)).toBeUndefined()
      expect(await a.session(other.token, now + 1)).toBeDefined()
      expect(await a.verify('op1', PASSWORD)).toBeUndefined()
      expect(await c.verify('op1', 'a brand new passphrase')).toEqual({ username: 'op1', role: 'operator' })

      const mine = await a.openSession('op1', HOUR, now)
      const elsewhere = await c.openSession('op1', HOUR, now)
      expect(await a.setPassword('op1', 'yet another passphrase', mine.token)).toBe(true)
      expect(await c.session(mine.token, now + 1)).toMatchObject({ username: 'op1' })
      expect(await c.session(elsewhere.token, now + 1)).toBeUndefined()
      expect(await a.setPassword('ghost', 'yet another passphrase')).toBe(false)
      expect(await b.dump()).not.toContain('yet another passphrase')
    })

    it('filters the audit log by time: from inclusive, to exclusive, with the other filters and paging', async () => {
      const b = await make()
      const s = b.open()
      for (let i = 0; i < 10; i++) await s.audit({ actor: i % 2 ? 'admin' : 'op1', action: 'sign-in' }, 1_000_000 + i * 1000)
      expect((await s.auditLog({ limit: 100, from: 1_003_000, to: 1_007_000 })).map((e) => e.ts)).toEqual([1_006_000, 1_005_000, 1_004_000, 1_003_000])
      expect((await s.auditLog({ limit: 100, actor: 'admin', from: 1_003_000 })).map((e) => e.ts)).toEqual([1_009_000, 1_007_000, 1_005_000, 1_003_000])
      const page1 = await s.auditLog({ limit: 2, to: 1_008_000 })
      const page2 = await s.auditLog({ limit: 2, to: 1_008_000, before: page1.at(-1)!.id })
      expect([...page1, ...page2].map((e) => e.ts)).toEqual([1_007_000, 1_006_000, 1_005_000, 1_004_000])
      expect(await s.auditLog({ limit: 100, from: 2_000_000 })).toEqual([])
    })

    it('close() twice is fine', async () => {
      const s = (await make()).open()
      await s.close()
      await s.close()
    })
  })
}
