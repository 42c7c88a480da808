import { randomBytes } from 'node:crypto'
import {
  severityRank,
  type DeviceRecord,
  type DeviceRegistry,
  type IncidentChange,
  type IncidentEvent,
  type LocalizedText,
  type Severity,
  type StoredReading,
} from '@mytho/schema'
import { silentLogger, type Logger } from '@mytho/runtime'
import { initialHold, stepHold, wantedLevel, type HoldState } from './hold-machine.ts'
import type { HoldRecord } from './incident-store.ts'
import type { EngineIncidentStore } from './incident-ports.ts'
import type { AlertRule, ConditionRuleT, SilentRuleT, ThresholdRuleT } from './rules.ts'

/*
 * Evaluates the alert rules on the stream of stored readings (not by polling the database) and on a
 * clock tick for silence and reminders. For each (rule, subject) a hold machine decides the level in force;
 * a change of level raises, escalates, de-escalates or clears one incident. Every change is written to the
 * incident store before it is announced, so a restart resumes exactly where it stopped.
 */

export interface AlertEngineOptions {
  rules: readonly AlertRule[]
  registry: DeviceRegistry
  /** The SQLite store, or the Redis mirror of this worker's alert state (redis-engine-store.ts). */
  store: EngineIncidentStore
  clock?: () => number
  logger?: Logger
  /** Readings older than this (ms behind the clock) are history being backfilled, not news. Default 1 h. */
  maxReadingAgeMs?: number
  /** Called after each durable change (live push, notifications). Must not throw. */
  onChange?: (change: IncidentChange) => void
}

interface LevelDef {
  name: LocalizedText
  severity: Severity
}

/** One evaluation of one (rule, subject), as advance() takes it. */
interface Step {
  rule: AlertRule
  /** A device id, or a road segment for rules grouped by road. */
  subject: string
  subjectType: 'device' | 'road'
  /** The device whose reading (or silence) this is; its kind and id go into a new incident. */
  device: DeviceRecord | undefined
  /** The level the value asks for (0: none); the hold machine decides when it is in force. */
  wanted: number
  /** ms since epoch: the reading's time, or the clock tick's. */
  at: number
  /** The value judged (a mean, a reading's field, seconds of silence); null when there is none. */
  value: number | null
  levelDef: (level: number) => LevelDef
  metric: string | null
  /** Rule-specific state to persist with the hold (a condition rule's active counters). */
  extra?: Record<string, unknown> | undefined
}

const newIncidentId = (at: number) => `inc-${at.toString(36)}-${randomBytes(4).toString('hex')}`

export function createAlertEngine(opts: AlertEngineOptions) {
  const clock = opts.clock ?? Date.now
  const log = opts.logger ?? silentLogger
  const maxAge = opts.maxReadingAgeMs ?? 3_600_000
  const store = opts.store
  const lastSeen = new Map<string, number>()
  const lastWillOffline = new Set<string>()
  const holds = new Map<string, HoldRecord>()
  const stats = { evaluations: 0, changes: 0, skippedStale: 0 }

  const applies = (rule: AlertRule, d: DeviceRecord) => rule.kinds.includes(d.kind) && (!rule.devices || rule.devices.includes(d.id))

  const holdOf = (ruleId: string, subject: string): HoldRecord => {
    const key = `${ruleId}\u0000${subject}`
    let h = holds.get(key)
    if (!h) {
      h = store.getHold(ruleId, subject) ?? { hold: initialHold(), incidentId: null, extra: {} }
      holds.set(key, h)
    }
    return h
  }

  /** Moves one (rule, subject) to `wanted` at time `at`, persisting the hold and any incident change together. */
  function advance({ rule, subject, subjectType, device, wanted, at, value, levelDef, metric, extra }: Step): void {
    stats.evaluations++
    const rec = holdOf(rule.id, subject)
    const prev: HoldState = rec.hold
    const { state, changed } = stepHold(prev, wanted, at, rule.raiseHoldS * 1000, rule.clearHoldS * 1000)
    const holdChanged = changed !== null || state.pendingLevel !== prev.pendingLevel || state.pendingSince !== prev.pendingSince || extra !== undefined
    rec.hold = state
    if (extra) rec.extra = extra
    if (!changed) {
      // lastAt moves on every evaluation; persisting it only with real changes keeps the hot path light.
      if (holdChanged) store.putHold(rule.id, subject, rec)
      if (rec.incidentId && value !== null && rule.type === 'threshold') store.touchValue(rec.incidentId, value, rule.direction, at)
      return
    }
    stats.changes++
    let change: IncidentChange | undefined
    store.transaction(() => {
      const now = at
      if (changed.from === 0) {
        const def = levelDef(changed.to)
        const id = newIncidentId(now)
        const event: IncidentEvent = { at: now, type: 'raised', level: changed.to, value }
        store.create(
          {
            id,
            ruleId: rule.id,
            subject,
            subjectType,
            deviceIds: device ? [device.id] : [],
            kind: device?.kind ?? null,
            level: changed.to,
            peakLevel: changed.to,
            severity: def.severity,
            title: titleOf(rule, def),
            state: 'open',
            metric,
            lastValue: value,
            peakValue: value,
            raisedAt: now,
            updatedAt: now,
          },
          event,
        )
        rec.incidentId = id
        change = { incident: store.get(id)!, event }
      } else if (rec.incidentId) {
        const id = rec.incidentId
        const cleared = changed.to === 0
        const def = cleared ? levelDef(changed.from) : levelDef(changed.to)
        const before = store.get(id)
        // A worse severity needs a fresh acknowledgement: escalation reopens an acknowledged incident.
        const reopen = !cleared && changed.to > changed.from && before !== undefined && severityWorse(def.severity, before.severity)
        const type: IncidentEvent['type'] = cleared ? 'cleared' : changed.to > changed.from ? 'escalated' : 'deescalated'
        const event: IncidentEvent = { at: now, type, level: changed.to, value }
        store.update(id, { level: changed.to, severity: def.severity, title: titleOf(rule, def), value, at: now, cleared, reopen }, event)
        if (cleared) rec.incidentId = null
        change = { incident: store.get(id)!, event }
      }
      store.putHold(rule.id, subject, rec)
    })
    if (change) {
      log.info('incident', { id: change.incident.id, rule: rule.id, subject, event: change.event.type, alarmLevel: change.event.level })
      announce(change)
    }
  }

  /** Inside a batch (onReadings) changes are announced only after its transaction commits. */
  let deferred: IncidentChange[] | undefined
  function announce(change: IncidentChange): void {
    if (deferred) return void deferred.push(change)
    try {
      opts.onChange?.(change)
    } catch (err) {
      log.error('incident listener failed', { err })
    }
  }

  function evalThreshold(rule: ThresholdRuleT, d: DeviceRecord, r: StoredReading): void {
    const raw = r.fields[rule.metric]
    if (raw === undefined) return
    const levels = rule.overrides?.[d.id]?.levels ?? rule.levels
    const rec = holdOf(rule.id, d.id)
    let value = raw
    if (rule.meanOverS !== undefined) {
      const window = pushToWindow(rec, r.ts, raw, rule.meanOverS * 1000)
      persistWindow(rule.id, d.id, rec, r.ts)
      // Judge a 24-h limit only on enough of a day: a quarter of the window, so one busy hour is no alarm.
      if (window.length === 0 || r.ts - window[0]![0] < (rule.meanOverS * 1000) / 4) return
      let sum = 0
      let count = 0
      for (const [, s, n] of window) (sum += s), (count += n)
      value = sum / count
    }
    const wanted = wantedLevel(levels, rule.direction, rec.hold.level, value)
    advance({
      rule,
      subject: d.id,
      subjectType: 'device',
      device: d,
      wanted,
      at: r.ts,
      value,
      levelDef: (n) => levels[n - 1] ?? levels[levels.length - 1]!,
      metric: rule.metric,
    })
  }

  /**
   * A rolling mean kept as per-minute buckets [minuteStart, sum, count] with the hold, so it survives a restart
   * and stays ≤ 1,440 entries a day however often the device reports.
   */
  function pushToWindow(rec: HoldRecord, ts: number, value: number, spanMs: number): [number, number, number][] {
    const minute = Math.floor(ts / 60_000) * 60_000
    const window = ((rec.extra['window'] as [number, number, number][] | undefined) ?? []).filter(([t]) => t > ts - spanMs)
    const bucket = window.find(([t]) => t === minute)
    if (bucket) (bucket[1] += value), (bucket[2] += 1)
    else {
      window.push([minute, value, 1])
      window.sort((a, b) => a[0] - b[0])
    }
    rec.extra = { ...rec.extra, window }
    return window
  }

  /** Mean windows are written at most once a minute of reading time: a restart loses at most that minute. */
  const windowSavedAt = new Map<string, number>()
  function persistWindow(ruleId: string, subject: string, rec: HoldRecord, ts: number): void {
    const key = `${ruleId}\u0000${subject}`
    if (ts - (windowSavedAt.get(key) ?? -Infinity) < 60_000) return
    windowSavedAt.set(key, ts)
    store.putHold(ruleId, subject, rec)
  }

  function evalCondition(rule: ConditionRuleT, d: DeviceRecord, r: StoredReading): void {
    const subject = rule.groupBy === 'road' ? (d.road ?? d.id) : d.id
    const rec = holdOf(rule.id, subject)
    const active = { ...((rec.extra['active'] as Record<string, boolean> | undefined) ?? {}) }
    const wasActive = active[d.id] === true
    const results = rule.conditions.map((c) => {
      const v = r.fields[c.metric]
      if (v === undefined) return undefined
      return wantedLevel([{ set: c.set, clear: c.clear }], c.op, wasActive ? 1 : 0, v) === 1
    })
    if (results.every((x) => x === undefined)) return
    const met = rule.match === 'all' ? results.every((x) => x === true) : results.some((x) => x === true)
    active[d.id] = met
    const wanted = Object.values(active).some(Boolean) ? 1 : 0
    const first = rule.conditions[0]!
    // The road's memory is written only when this counter's state flips, not on every reading.
    advance({
      rule,
      subject,
      subjectType: rule.groupBy,
      device: d,
      wanted,
      at: r.ts,
      value: r.fields[first.metric] ?? null,
      levelDef: () => ({ name: rule.levelName, severity: rule.severity }),
      metric: first.metric,
      extra: met !== wasActive ? { active } : undefined,
    })
    if (met === wasActive) rec.extra = { ...rec.extra, active }
    // Every counter that is congested while the road's incident is open belongs to it.
    if (rec.incidentId) for (const [id, on] of Object.entries(active)) if (on) store.addDevice(rec.incidentId, id)
  }

  function evalSilent(rule: SilentRuleT, d: DeviceRecord, now: number): void {
    const seen = lastSeen.get(d.id)
    const silentFor = seen === undefined ? 0 : now - seen
    const offline = rule.onLastWill && lastWillOffline.has(d.id)
    const wanted = offline || (seen !== undefined && silentFor > rule.intervalMultiple * d.intervalS * 1000) ? 1 : 0
    if (wanted === 0 && holdOf(rule.id, d.id).hold.level === 0 && holdOf(rule.id, d.id).hold.pendingLevel === null) return
    advance({
      rule,
      subject: d.id,
      subjectType: 'device',
      device: d,
      wanted,
      at: now,
      value: seen === undefined ? null : Math.round(silentFor / 1000),
      levelDef: () => ({
        name: offline ? { vi: 'Mất kết nối (Last Will)', en: 'Disconnected (Last Will)' } : { vi: 'Không có số liệu', en: 'No readings' },
        severity: rule.severity,
      }),
      metric: null,
    })
  }

  const silentRules = opts.rules.filter((r): r is SilentRuleT => r.type === 'silent')

  return {
    stats,
    /**
     * Ingest partitions handed between workers on one incident store: forget what is cached about these devices,
     * so their holds are read again from the store and their Last Will state comes again with their retained
     * status. `save` (the worker handing them over) first writes their holds, mean windows included (otherwise
     * written at most once a minute), for the next owner to read.
     */
    forgetDevices(deviceIds: ReadonlySet<string>, opts: { save?: boolean } = {}): void {
      const drop = () => {
        for (const [key, rec] of holds) {
          const sep = key.indexOf('\u0000')
          const subject = key.slice(sep + 1)
          if (!deviceIds.has(subject)) continue
          if (opts.save) store.putHold(key.slice(0, sep), subject, rec)
          holds.delete(key)
          windowSavedAt.delete(key)
        }
      }
      if (opts.save) store.transaction(drop)
      else drop()
      for (const id of deviceIds) lastWillOffline.delete(id)
    },
    /**
     * Writes every cached hold as it is now, mean windows included (otherwise written at most once a minute):
     * before a partition is handed over and at a graceful stop, so the next owner or run loses none of it.
     */
    saveHolds(): void {
      store.transaction(() => {
        for (const [key, rec] of holds) {
          const sep = key.indexOf('\u0000')
          try {
            store.putHold(key.slice(0, sep), key.slice(sep + 1), rec)
          } catch (err) {
            // A store may refuse a subject it no longer holds (Redis: a partition gone); the others are still saved.
            log.warn('hold not saved', { rule: key.slice(0, sep), subject: key.slice(sep + 1), err: (err as Error).message })
          }
        }
      })
    },
    /** Seeds last-seen times from storage at start, so silence is measured across a restart. */
    hydrate(latest: readonly StoredReading[]): void {
      for (const r of latest) lastSeen.set(r.deviceId, Math.max(lastSeen.get(r.deviceId) ?? 0, r.receivedAt))
    },
    /**
     * Evaluates a batch of durably stored readings in one store transaction: one fsync per batch instead of one
     * per changed hold (measured: per-reading hold writes were 75 % of the ingest's CPU). A reading whose
     * evaluation throws is reported and skipped; the others still count.
     */
    onReadings(readings: readonly StoredReading[], onError: (err: unknown, r: StoredReading) => void): void {
      const changes: IncidentChange[] = []
      deferred = changes
      try {
        store.transaction(() => {
          for (const r of readings) {
            try {
              this.onReading(r)
            } catch (err) {
              onError(err, r)
            }
          }
        })
      } finally {
        deferred = undefined
      }
      for (const c of changes) announce(c)
    },
    /** Evaluates one durably stored reading. */
    onReading(r: StoredReading): void {
      const d = opts.registry.get(r.deviceId)
      if (!d) return
      lastSeen.set(d.id, Math.max(lastSeen.get(d.id) ?? 0, r.receivedAt))
      lastWillOffline.delete(d.id)
      for (const rule of silentRules) if (applies(rule, d)) evalSilent(rule, d, r.receivedAt)
      if (clock() - r.ts > maxAge) {
        stats.skippedStale++
        // History is not news, but it belongs in a rolling mean (a backfilled day makes a 24-h mean judgeable at once).
        for (const rule of opts.rules)
          if (
            rule.type === 'threshold' &&
            rule.meanOverS !== undefined &&
            applies(rule, d) &&
            r.fields[rule.metric] !== undefined &&
            clock() - r.ts < rule.meanOverS * 1000
          ) {
            const rec = holdOf(rule.id, d.id)
            pushToWindow(rec, r.ts, r.fields[rule.metric]!, rule.meanOverS * 1000)
            persistWindow(rule.id, d.id, rec, r.ts)
          }
        return
      }
      for (const rule of opts.rules) {
        if (!applies(rule, d)) continue
        if (rule.type === 'threshold') evalThreshold(rule, d, r)
        else if (rule.type === 'condition') evalCondition(rule, d, r)
      }
    },
    /** The device's retained status topic: its Last Will says `offline`. */
    onConnection(deviceId: string, status: 'online' | 'offline', at: number): void {
      const d = opts.registry.get(deviceId)
      if (!d) return
      if (status === 'offline') lastWillOffline.add(deviceId)
      else return
      for (const rule of silentRules) if (applies(rule, d)) evalSilent(rule, d, at)
    },
    /** Silence checks and reminders; call every few seconds. */
    tick(now: number = clock()): void {
      for (const rule of silentRules) for (const d of opts.registry.devices) if (applies(rule, d)) evalSilent(rule, d, now)
      for (const rule of opts.rules) {
        if (rule.reminderS <= 0) continue
        for (const inc of store.list({ ruleId: rule.id, state: 'open', severity: 'critical' })) {
          const last = Math.max(store.lastEventAt(inc.id, 'reminded') ?? 0, inc.updatedAt)
          if (now - last < rule.reminderS * 1000) continue
          const event: IncidentEvent = { at: now, type: 'reminded', level: inc.level, value: inc.lastValue }
          store.recordEvent(inc.id, event)
          try {
            opts.onChange?.({ incident: store.get(inc.id)!, event })
          } catch (err) {
            log.error('incident listener failed', { err })
          }
        }
      }
    },
  }
}
export type AlertEngine = ReturnType<typeof createAlertEngine>

const titleOf = (rule: AlertRule, def: LevelDef): LocalizedText => ({ vi: `${rule.title.vi}: ${def.name.vi}`, en: `${rule.title.en}: ${def.name.en}` })
const severityWorse = (a: Severity, b: Severity) => severityRank[a] > severityRank[b]
