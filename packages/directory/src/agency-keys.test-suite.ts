import { describe, expect, it } from 'vitest'
import type { AgencyKeyScope, NgsiSubscription } from '@mytho/schema'
import type { AgencyKeyStore } from './agency-keys.ts'

/*
 * The behaviour every AgencyKeyStore owes the API; run on a real SQLite file (agency-keys.test.ts) and a real
 * redis-server (agency-keys-redis.test.ts). `open()` twice is two API nodes on one store.
 */
export interface AgencyKeyBackend {
  open(): AgencyKeyStore
  /** Everything the backend holds, as text, to look for secrets in. */
  dump(): Promise<string>
}

const scope: AgencyKeyScope = { kinds: ['water_level'], wards: ['my-tho'], access: 'raw', ratePerMinute: 60 }
const input = { name: 'hydromet feed', agency: 'Đài KTTV Đồng Tháp', scope, createdBy: 'admin1' }
const sub = (id: string): NgsiSubscription => ({
  id,
  type: 'Subscription',
  entities: [{ type: 'FloodMonitoring' }],
  q: 'currentLevel>=150',
  notification: { format: 'normalized', endpoint: { uri: 'http://127.0.0.1:9/notify', accept: 'application/json' } },
  isActive: true,
  status: 'active',
})

export function runAgencyKeyContract(name: string, make: () => Promise<AgencyKeyBackend>): void {
  describe(`agency key store contract: ${name}`, () => {
    it('issues a key shown once, keeps only its hash, and authenticates it on another node', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const { key, agencyKey } = await a.create({ ...input, expiresAt: 5000 }, 1000)
      expect(key).toMatch(/^mak_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      expect(agencyKey).toEqual({ id: key.slice(4, 20), ...input, expiresAt: 5000, createdAt: 1000, revokedAt: null, useCount: 0, lastUsedAt: null })
      expect((await c.authenticate(key, 2000))?.id).toBe(agencyKey.id)
      expect(await c.authenticate(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, 2000)).toBeUndefined()
      expect(await c.authenticate(`mak_0000000000000000_${'A'.repeat(43)}`, 2000)).toBeUndefined()
      expect(await c.authenticate('not a key', 2000)).toBeUndefined()
      // expired at 5000
      expect(await c.authenticate(key, 5000)).toBeUndefined()
      expect(await b.dump()).not.toContain(key.slice(21))
    })

    it('lists newest first and revokes at once for every node, keeping the first revocation time', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const one = await a.create(input, 1000)
      const two = await a.create({ ...input, name: 'traffic police' }, 2000)
      expect((await c.list()).map((k) => k.name)).toEqual(['traffic police', 'hydromet feed'])
      expect((await c.revoke(one.agencyKey.id, 3000))?.revokedAt).toBe(3000)
      expect((await a.revoke(one.agencyKey.id, 4000))?.revokedAt).toBe(3000)
      expect(await a.authenticate(one.key, 3500)).toBeUndefined()
      expect((await a.authenticate(two.key, 3500))?.name).toBe('traffic police')
      expect(await a.revoke('0123456789abcdef', 3000)).toBeUndefined()
    })

    it('counts every use and keeps the newest in its log', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const { agencyKey } = await a.create(input, 1000)
      await Promise.all(
        [1, 2, 3].map((i) => (i % 2 ? a : c).recordUse(agencyKey.id, { ts: 1000 + i, method: 'GET', path: `/e/${i}`, status: 200, ip: '127.0.0.1' })),
      )
      await c.recordUse('0123456789abcdef', { ts: 1, method: 'GET', path: '/', status: 200, ip: null })
      const v = await c.get(agencyKey.id)
      expect(v?.useCount).toBe(3)
      expect(v?.lastUsedAt).toBe(1003)
      expect((await a.uses(agencyKey.id, 2)).map((u) => u.path).sort()).toHaveLength(2)
      expect(await a.get('0123456789abcdef')).toBeUndefined()
    })

    it("keeps each key's subscriptions apart: another key can neither list nor delete them", async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const k1 = (await a.create(input, 1000)).agencyKey.id
      const k2 = (await a.create(input, 1001)).agencyKey.id
      expect(await a.addSubscription(k1, sub('urn:ngsi-ld:Subscription:one'), 10)).toBe(true)
      expect(await c.addSubscription(k2, sub('urn:ngsi-ld:Subscription:one'), 11)).toBe(false)
      expect(await c.addSubscription(k2, sub('urn:ngsi-ld:Subscription:two'), 12)).toBe(true)
      expect((await c.subscriptions()).map((s) => [s.keyId, s.subscription.id])).toEqual([
        [k1, 'urn:ngsi-ld:Subscription:one'],
        [k2, 'urn:ngsi-ld:Subscription:two'],
      ])
      expect((await c.subscriptions(k1))[0]?.subscription).toEqual(sub('urn:ngsi-ld:Subscription:one'))
      expect(await c.deleteSubscription(k2, 'urn:ngsi-ld:Subscription:one')).toBe(false)
      expect(await c.deleteSubscription(k1, 'urn:ngsi-ld:Subscription:one')).toBe(true)
      expect((await a.subscriptions()).map((s) => s.subscription.id)).toEqual(['urn:ngsi-ld:Subscription:two'])
    })

    it("updates a subscription for its own key only, on every node, keeping its place and the body's empty lists", async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const k1 = (await a.create(input, 1000)).agencyKey.id
      const k2 = (await a.create(input, 1001)).agencyKey.id
      await a.addSubscription(k1, sub('urn:ngsi-ld:Subscription:one'), 10)
      await a.addSubscription(k1, sub('urn:ngsi-ld:Subscription:two'), 11)
      const paused: NgsiSubscription = {
        ...sub('urn:ngsi-ld:Subscription:one'),
        watchedAttributes: [],
        throttling: 1.5,
        expiresAt: '2026-12-31T17:00:00.000Z',
        isActive: false,
        status: 'paused',
      }
      expect(await c.updateSubscription(k2, paused)).toBe(false)
      expect((await a.subscriptions(k1))[0]?.subscription).toEqual(sub('urn:ngsi-ld:Subscription:one'))
      expect(await c.updateSubscription(k1, paused)).toBe(true)
      expect((await a.subscriptions()).map((s) => [s.keyId, s.subscription])).toEqual([
        [k1, paused],
        [k1, sub('urn:ngsi-ld:Subscription:two')],
      ])
      expect(await c.updateSubscription(k1, sub('urn:ngsi-ld:Subscription:none'))).toBe(false)
      expect((await a.subscriptions()).map((s) => s.subscription.id)).toEqual(['urn:ngsi-ld:Subscription:one', 'urn:ngsi-ld:Subscription:two'])
    })

    it('lets one node only take on a notification, even when two claim it at once', async () => {
      const b = await make()
      const [a, c] = [b.open(), b.open()]
      const now = Date.now()
      const won = await Promise.all([a.claimDelivery('sub1', 'wl-hydro-station@1000', now), c.claimDelivery('sub1', 'wl-hydro-station@1000', now)])
      expect(won.filter(Boolean)).toHaveLength(1)
      expect(await a.claimDelivery('sub1', 'wl-hydro-station@2000', now)).toBe(true)
      expect(await a.claimDelivery('sub2', 'wl-hydro-station@1000', now)).toBe(true)
    })
  })
}
