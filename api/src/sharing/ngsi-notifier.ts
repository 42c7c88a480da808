import { randomUUID } from 'node:crypto'
import { createDeliveryQueue, postForDelivery } from '@mytho/alerts'
import type { AgencyKeyStore } from '@mytho/directory'
import type { Logger } from '@mytho/runtime'
import {
  iso,
  ngsiEntityId,
  SMART_DATA_MODELS,
  toNgsiEntity,
  type AgencyKeyView,
  type DeviceRecord,
  type DeviceRegistry,
  type IncidentChange,
  type NgsiAttributeMapping,
  type NgsiObservation,
  ngsiSubscriptionStatus,
  type NgsiSubscription,
  type StoredReading,
} from '@mytho/schema'
import { inScope } from './agency-auth.ts'
import { compileIdPattern, IdPatternError, matchIdPattern } from './ngsi-id-pattern.ts'
import { attributesOf, parseNgsiQuery, type NgsiQuery } from './ngsi-q.ts'
import { contextLink } from './ngsi-respond.ts'

/*
 * NGSI-LD subscriptions (CIM 009 §5.8): each reading the ingest stored reaches the API's live feed, which hands it
 * here; every active subscription it matches gets a Notification POSTed to its endpoint. Delivery is the webhooks'
 * (packages/alerts notify: one bounded queue per subscription, exponential backoff, Retry-After honoured, oldest
 * dropped when full), so a dead or slow endpoint never holds up the feed or another agency's notifications.
 *
 * When a notification goes out: with `q`, when the entity comes to match it (a gauge crossing BĐ II with
 * q=currentLevel>=150), not again until it has stopped matching — an agency wants the crossing, not one POST per
 * reading above the line; without `q`, at every new value of a watched attribute (all of the model's when
 * watchedAttributes is absent). An incident change of a device notifies the subscriptions that watch `incident`.
 * The subscriptions and their keys are re-read every RELOAD_MS, so one made, changed, deleted or revoked on another
 * node counts here within seconds. On a cluster every API node hears every reading; the store's delivery claim lets
 * one of them send each notification.
 *
 * A paused (isActive false) or expired subscription (expiresAt passed; checked again at each notification, not only
 * at the re-read) sends nothing. `throttling` (seconds) lets one notification through per window: later ones in the
 * window are dropped, never queued (a queue would only deliver stale values later, in a burst). Each node counts the
 * window by its own clock; the nodes hear the same readings within milliseconds, so they drop the same ones.
 */

export const SUBSCRIPTIONS_RELOAD_MS = 5000

interface Active {
  keyId: string
  key: AgencyKeyView
  sub: NgsiSubscription
  match: NgsiQuery | undefined
  /** Attribute names whose change triggers a notification; undefined: any of the model's. */
  watched: readonly string[] | undefined
  queue: ReturnType<typeof createDeliveryQueue>
}

export interface NgsiNotifierDeps {
  keys: () => AgencyKeyStore | undefined
  registry: DeviceRegistry
  logger: Logger
  clock: () => number
  /** First retry delay, ms (the webhooks' default 500). */
  retryMinMs?: number
  /** One POST's time limit, ms. Default 10 000. */
  timeoutMs?: number
}

export function createNgsiNotifier(deps: NgsiNotifierDeps) {
  const log = deps.logger
  let active: Active[] = []
  const queues = new Map<string, ReturnType<typeof createDeliveryQueue>>()
  /** Where each queue posts and how: a PATCH that changes it gets a new queue (the old one's pending are dropped). */
  const queueTargets = new Map<string, string>()
  /** Whether the subscription's q held for the device at its last reading. */
  const matched = new Map<string, boolean>()
  /** The q each subscription's `matched` entries were judged by: a PATCH of q starts them afresh. */
  const judgedBy = new Map<string, string | undefined>()
  /** Each device's newest reading seen, for incident notifications. */
  const newest = new Map<string, NgsiObservation>()
  /** When each throttled subscription last let a notification through, ms (kept across re-reads). */
  const lastSent = new Map<string, number>()
  /** idPattern → entity id → whether it matches: each pattern runs once per entity (ngsi-id-pattern.ts). */
  const patterns = new Map<string, { re: RegExp | undefined; matches: Map<string, boolean> }>()
  let stopped = false

  function patternMatches(pattern: string, entityId: string): boolean {
    let p = patterns.get(pattern)
    if (!p) {
      let re: RegExp | undefined
      try {
        re = compileIdPattern(pattern)
      } catch {
        re = undefined // checked when it was made: a stored one that no longer compiles matches nothing
      }
      patterns.set(pattern, (p = { re, matches: new Map() }))
    }
    let hit = p.matches.get(entityId)
    if (hit === undefined) {
      try {
        hit = p.re !== undefined && matchIdPattern(p.re, [entityId])[0] === true
      } catch (err) {
        if (!(err instanceof IdPatternError)) throw err
        log.warn('NGSI-LD idPattern too costly on an entity id: treated as not matching', { pattern, entityId })
        hit = false
      }
      p.matches.set(entityId, hit)
    }
    return hit
  }

  const queueFor = (sub: NgsiSubscription) => {
    const target = JSON.stringify([sub.notification.endpoint, sub.jsonldContext])
    let q = queues.get(sub.id)
    if (q && queueTargets.get(sub.id) === target) return q
    q?.stop()
    queueTargets.set(sub.id, target)
    const accept = sub.notification.endpoint.accept
    const headers: Record<string, string> = { 'content-type': accept }
    if (accept === 'application/json' && sub.jsonldContext !== undefined) headers['link'] = contextLink(sub.jsonldContext)
    q = createDeliveryQueue({
      name: `ngsi-ld subscription ${sub.id}`,
      logger: log,
      ...(deps.retryMinMs !== undefined ? { retryMinMs: deps.retryMinMs } : {}),
      send: (body) =>
        postForDelivery({ url: sub.notification.endpoint.uri, body, headers, timeoutMs: deps.timeoutMs ?? 10_000, what: 'subscription endpoint' }),
    })
    queues.set(sub.id, q)
    return q
  }

  let reloading: Promise<void> | undefined
  async function load(): Promise<void> {
    const store = deps.keys()
    if (!store || stopped) return
    const stored = await store.subscriptions()
    const keys = new Map<string, AgencyKeyView | undefined>()
    for (const s of stored) if (!keys.has(s.keyId)) keys.set(s.keyId, await store.get(s.keyId))
    const now = deps.clock()
    const next: Active[] = []
    for (const { keyId, subscription: sub } of stored) {
      const key = keys.get(keyId)
      // A revoked or expired key's subscriptions stop with it.
      if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now) || ngsiSubscriptionStatus(sub, now) !== 'active') continue
      let match: NgsiQuery | undefined
      try {
        match = sub.q === undefined ? undefined : parseNgsiQuery(sub.q)
      } catch {
        continue // checked when it was made; a stored one that no longer parses is skipped, not a crash
      }
      const watched = sub.watchedAttributes ?? (sub.q !== undefined ? attributesOf(sub.q) : undefined)
      next.push({ keyId, key, sub, match, watched, queue: queueFor(sub) })
    }
    const ids = new Set(next.map((a) => a.sub.id))
    for (const [id, q] of queues)
      if (!ids.has(id)) {
        q.stop()
        queues.delete(id)
        queueTargets.delete(id)
      }
    for (const id of lastSent.keys()) if (!ids.has(id)) lastSent.delete(id)
    for (const a of next)
      if (judgedBy.has(a.sub.id) && judgedBy.get(a.sub.id) !== a.sub.q)
        for (const slot of matched.keys()) if (slot.startsWith(`${a.sub.id}|`)) matched.delete(slot)
    judgedBy.clear()
    for (const a of next) judgedBy.set(a.sub.id, a.sub.q)
    const inUse = new Set(next.flatMap((a) => a.sub.entities.flatMap((e) => (e.idPattern !== undefined ? [e.idPattern] : []))))
    for (const p of patterns.keys()) if (!inUse.has(p)) patterns.delete(p)
    active = next
  }
  /**
   * Re-reads (after this node made or deleted one, and on the timer). Reads run one after another, each starting after
   * the call: one already under way may have read the store before the change that asked for this one.
   */
  const reload = (): Promise<void> =>
    (reloading = (reloading ?? Promise.resolve()).then(() => load().catch((err: unknown) => log.warn('NGSI-LD subscriptions not re-read', { err }))))

  const timer = setInterval(() => void reload(), SUBSCRIPTIONS_RELOAD_MS)
  timer.unref()

  const wants = (a: Active, device: DeviceRecord) => {
    if (!inScope(a.key, device)) return false
    const id = ngsiEntityId(device.kind, device.id)
    // CIM 009 §5.2.8: id wins over idPattern when both are given.
    return a.sub.entities.some(
      (e) =>
        e.type === SMART_DATA_MODELS[device.kind].type && (e.id !== undefined ? e.id === id : e.idPattern === undefined || patternMatches(e.idPattern, id)),
    )
  }

  /**
   * Queues one notification once the store says this node is the one to send it (`event` names what triggered it):
   * every API node hears every reading, and an agency should get each notification once.
   */
  function send(a: Active, device: DeviceRecord, obs: NgsiObservation | undefined, event: string, extra: Record<string, unknown> = {}): void {
    const store = deps.keys()
    if (!store) return
    const now = deps.clock()
    // Expired since the last re-read: nothing more (the re-read drops it within RELOAD_MS).
    if (ngsiSubscriptionStatus(a.sub, now) !== 'active') return
    if (a.sub.throttling !== undefined) {
      const last = lastSent.get(a.sub.id)
      if (last !== undefined && now - last < a.sub.throttling * 1000) return
      lastSent.set(a.sub.id, now)
    }
    const form = a.sub.notification.format
    const entity = { ...toNgsiEntity(device, obs, form, a.sub.notification.attributes), ...extra }
    if (a.sub.notification.endpoint.accept === 'application/ld+json' && a.sub.jsonldContext !== undefined) entity['@context'] = a.sub.jsonldContext
    const body = JSON.stringify({
      id: `urn:ngsi-ld:Notification:${randomUUID()}`,
      type: 'Notification',
      subscriptionId: a.sub.id,
      notifiedAt: iso(now),
      data: [entity],
    })
    // Claims on one store connection answer in the order they were asked: notifications keep the readings' order.
    store.claimDelivery(a.sub.id, event, now).then(
      (mine) => void (mine && a.queue.enqueue(body)),
      (err: unknown) => log.warn('NGSI-LD notification not claimed; not sent', { err, subscriptionId: a.sub.id }),
    )
  }

  return {
    reload,
    /** Readings the ingest stored (the live feed's batch): synchronous and cheap, deliveries are queued. */
    onReadings(readings: readonly StoredReading[]): void {
      if (active.length === 0) return
      for (const r of [...readings].sort((x, y) => x.ts - y.ts)) {
        const device = deps.registry.get(r.deviceId)
        if (!device) continue
        const before = newest.get(r.deviceId)
        if (before && before.ts > r.ts) continue // an older reading arriving late changes no current value
        const obs = { ts: r.ts, fields: r.fields }
        newest.set(r.deviceId, obs)
        const touched = (SMART_DATA_MODELS[device.kind].attributes as readonly NgsiAttributeMapping[])
          .filter((m) => r.fields[m.metric] !== undefined)
          .map((m) => m.attribute)
        if (touched.length === 0) continue
        for (const a of active) {
          if (!wants(a, device)) continue
          if (a.watched && !touched.some((t) => a.watched!.includes(t))) continue
          if (a.match) {
            const slot = `${a.sub.id}|${device.id}`
            const now = a.match(toNgsiEntity(device, obs, 'keyValues'))
            const was = matched.get(slot)
            matched.set(slot, now)
            if (!now || was === true) continue
          }
          send(a, device, obs, `${device.id}@${obs.ts}`)
        }
      }
    },
    /** An incident raised, escalated, acknowledged or cleared on a device: to the subscriptions that watch `incident`. */
    onIncident(change: IncidentChange): void {
      const i = change.incident
      for (const id of i.deviceIds) {
        const device = deps.registry.get(id)
        if (!device) continue
        for (const a of active) {
          if (!wants(a, device) || !a.sub.watchedAttributes?.includes('incident')) continue
          const value = {
            id: i.id,
            rule: i.ruleId,
            event: change.event.type,
            state: i.state,
            level: i.level,
            severity: i.severity,
            titleVi: i.title.vi,
            titleEn: i.title.en,
          }
          send(a, device, newest.get(id), `incident:${i.id}:${change.event.type}:${change.event.at}:${id}`, {
            incident: a.sub.notification.format === 'keyValues' ? value : { type: 'Property', value, observedAt: iso(i.updatedAt) },
          })
        }
      }
    },
    /** Deliveries queued or being retried, per subscription (for tests and health). */
    stats: () => [...queues].map(([id, q]) => ({ id, queued: q.queued, ...q.stats })),
    stop(): void {
      stopped = true
      clearInterval(timer)
      for (const q of queues.values()) q.stop()
      queues.clear()
      queueTargets.clear()
    },
  }
}
export type NgsiNotifier = ReturnType<typeof createNgsiNotifier>
