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

    it('close() twice is fine', async () => {
      const s = (await make()).open()
      await s.close()
      await s.close()
    })
  })
}
