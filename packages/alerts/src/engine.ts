import { randomBytes } from 'node:crypto'
import {
  severityRank,
  type DeviceConnectionStatus,
  type DeviceRecord,
  type DeviceRegistry,
  type IncidentChange,
  type IncidentEvent,
  type LocalizedText,
  type Severity,
  type StoredReading,
} from '@mytho/schema'
import { silentLogger, type Logger } from '@mytho/runtime'
import { holdMoved, initialHold, stepHold, wantedLevel, type HoldState } from './hold-machine.ts'
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
  /** What the operator should do at this level; the incident carries the one of its current level. */
  action?: LocalizedText | undefined
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

/** How a status came: a planned goodbye (`offline:planned`), or a retained one read back at our subscription. */
export interface ConnectionNews {
  planned?: boolean
  retained?: boolean
}

/** One condition of a condition rule against a value: wantedLevel for its single level, without the array. */
function conditionHolds(c: { op: 'above' | 'below'; set: number; clear: number }, atOrAbove: boolean, v: number): boolean {
  const above = c.op === 'above'
  return (above ? v >= c.set : v <= c.set) || (atOrAbove && (above ? v > c.clear : v < c.clear))
}

const newIncidentId = (at: number) => `inc-${at.toString(36)}-${randomBytes(4).toString('hex')}`

export function createAlertEngine(opts: AlertEngineOptions) {
  const clock = opts.clock ?? Date.now
  const log = opts.logger ?? silentLogger
  const maxAge = opts.maxReadingAgeMs ?? 3_600_000
  const store = opts.store
  const lastSeen = new Map<string, number>()
  const lastWillOffline = new Set<string>()
  /** Devices whose last word was a planned goodbye (`offline:planned`): away on purpose, neither lost nor silent. */
  const plannedOffline = new Set<string>()
  /** When this engine started listening: after a restart, silence counts from here, not from before the downtime. */
  let startedAt = clock()
  // By rule, then subject: a joined string key was built and hashed for every rule of every reading.
  const holds = new Map<string, Map<string, HoldRecord>>()
  const stats = { evaluations: 0, changes: 0, skippedStale: 0 }

  const applies = (rule: AlertRule, d: DeviceRecord) => rule.kinds.includes(d.kind) && (!rule.devices || rule.devices.includes(d.id))
  // The rules of each kind, in rule order: every reading walks only its own kind's (issue #20's per-reading budget).
  const measuringRulesOf = new Map<string, (ThresholdRuleT | ConditionRuleT)[]>()
  for (const rule of opts.rules)
    if (rule.type !== 'silent') for (const kind of rule.kinds) measuringRulesOf.set(kind, [...(measuringRulesOf.get(kind) ?? []), rule])
  // One level lookup per levels list, made once: a closure per reading was garbage on the hot path.
  const levelLookups = new WeakMap<readonly LevelDef[], (level: number) => LevelDef>()
  const levelLookup = (levels: readonly LevelDef[]): ((level: number) => LevelDef) => {
    let f = levelLookups.get(levels)
    if (!f) {
      f = (n) => levels[n - 1] ?? levels[levels.length - 1]!
      levelLookups.set(levels, f)
    }
    return f
  }

  const holdOf = (ruleId: string, subject: string): HoldRecord => {
    let ofRule = holds.get(ruleId)
    if (!ofRule) holds.set(ruleId, (ofRule = new Map()))
    let h = ofRule.get(subject)
    if (!h) {
      h = store.getHold(ruleId, subject) ?? { hold: initialHold(), incidentId: null, extra: {} }
      ofRule.set(subject, h)
    }
    return h
  }

  /** Moves one (rule, subject) to `wanted` at time `at`, persisting the hold and any incident change together. */
  function advance({ rule, subject, subjectType, device, wanted, at, value, levelDef, metric, extra }: Step): void {
    stats.evaluations++
    const rec = holdOf(rule.id, subject)
    const prev: HoldState = rec.hold
    const { state, changed } = stepHold(prev, wanted, at, rule.raiseHoldS * 1000, rule.clearHoldS * 1000)
    const holdChanged = changed !== null || holdMoved(prev, state) || extra !== undefined
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
            ward: device?.ward ?? null,
            action: def.action ?? null,
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
        // A cleared incident keeps the action of the level it left: the log still says what was asked.
        const action = cleared ? undefined : (def.action ?? null)
        store.update(id, { level: changed.to, severity: def.severity, title: titleOf(rule, def), value, at: now, cleared, reopen, action }, event)
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
      levelDef: levelLookup(levels),
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
    // Each counter's level on the road (holds written before levels kept `true` for "congested": level 1).
    const stored = rec.extra['active'] as Record<string, boolean | number> | undefined
    const active: Record<string, number> = {}
    if (stored) for (const id in stored) active[id] = stored[id] === true ? 1 : Number(stored[id]) || 0
    const was = active[d.id] ?? 0
    let seen = false
    let level = 0
    // Loops, not map/every: this runs for every traffic reading.
    for (let i = 0; i < rule.levels.length; i++) {
      let judged = 0
      let met = 0
      for (const c of rule.levels[i]!.conditions) {
        const v = r.fields[c.metric]
        if (v === undefined) continue
        judged++
        // Hysteresis per level: a counter at this level or above stays until the value passes `clear`.
        if (conditionHolds(c, was > i, v)) met++
      }
      if (judged === 0) continue
      seen = true
      // `all` counts a condition without its metric as not met, as it did when every result had to be true.
      if (rule.match === 'all' ? met === rule.levels[i]!.conditions.length : met > 0) level = i + 1
    }
    if (!seen) return
    active[d.id] = level
    let wanted = 0
    for (const id in active) if (active[id]! > wanted) wanted = active[id]!
    const first = rule.levels[0]!.conditions[0]!
    // The road's memory is written only when this counter's level changes, not on every reading.
    advance({
      rule,
      subject,
      subjectType: rule.groupBy,
      device: d,
      wanted,
      at: r.ts,
      value: r.fields[first.metric] ?? null,
      levelDef: levelLookup(rule.levels),
      metric: first.metric,
      extra: level !== was ? { active } : undefined,
    })
    if (level === was) rec.extra = { ...rec.extra, active }
    // Every counter that is congested while the road's incident is open belongs to it.
    if (rec.incidentId) for (const [id, on] of Object.entries(active)) if (on > 0) store.addDevice(rec.incidentId, id)
  }

  function evalSilent(rule: SilentRuleT, d: DeviceRecord, now: number): void {
    const seen = lastSeen.get(d.id)
    const silentFor = seen === undefined ? 0 : now - seen
    const offline = rule.onLastWill && lastWillOffline.has(d.id)
    const hold = holdOf(rule.id, d.id).hold
    // The platform's own downtime is nobody's silence: a device gets its interval multiple from our start, unless it
    // was already silent before (its incident stays, rather than clearing at start and coming back after the grace).
    const silentSince = seen === undefined ? undefined : hold.level > 0 ? seen : Math.max(seen, startedAt)
    const silent = silentSince !== undefined && !plannedOffline.has(d.id) && now - silentSince > rule.intervalMultiple * d.intervalS * 1000
    const wanted = offline || silent ? 1 : 0
    if (wanted === 0 && hold.level === 0 && hold.pendingLevel === null) return
    advance({
      rule,
      subject: d.id,
      subjectType: 'device',
      device: d,
      wanted,
      at: now,
      value: seen === undefined ? null : Math.round(silentFor / 1000),
      levelDef: () => ({
        name: offline
          ? { vi: 'Mất kết nối (thiết bị báo ngắt)', en: 'Disconnected (the device reported it went offline)' }
          : { vi: 'Không có số liệu', en: 'No readings' },
        severity: rule.severity,
        action: rule.action,
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
        for (const [ruleId, ofRule] of holds)
          for (const [subject, rec] of ofRule) {
            if (!deviceIds.has(subject)) continue
            if (opts.save) store.putHold(ruleId, subject, rec)
            ofRule.delete(subject)
            windowSavedAt.delete(`${ruleId}\u0000${subject}`)
          }
      }
      if (opts.save) store.transaction(drop)
      else drop()
      for (const id of deviceIds) lastWillOffline.delete(id), plannedOffline.delete(id)
    },
    /**
     * Writes every cached hold as it is now, mean windows included (otherwise written at most once a minute):
     * before a partition is handed over and at a graceful stop, so the next owner or run loses none of it.
     */
    saveHolds(): void {
      store.transaction(() => {
        for (const [ruleId, ofRule] of holds)
          for (const [subject, rec] of ofRule) {
            try {
              store.putHold(ruleId, subject, rec)
            } catch (err) {
              // A store may refuse a subject it no longer holds (Redis: a partition gone); the others are still saved.
              log.warn('hold not saved', { rule: ruleId, subject, err: (err as Error).message })
            }
          }
      })
    },
    /** Seeds last-seen times from storage at start, so silence is measured across a restart. */
    hydrate(latest: readonly StoredReading[]): void {
      startedAt = clock()
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
      plannedOffline.delete(d.id)
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
      for (const rule of measuringRulesOf.get(d.kind) ?? []) {
        if (rule.devices && !rule.devices.includes(d.id)) continue
        if (rule.type === 'threshold') evalThreshold(rule, d, r)
        else evalCondition(rule, d, r)
      }
    },
    /**
     * The device's retained status topic: its Last Will says `offline` (connection lost, an incident); a planned
     * goodbye (`offline:planned`, docs/device-contract.md) is no incident and pauses its silence until it speaks again.
     */
    onConnection(deviceId: string, status: DeviceConnectionStatus, at: number, how: ConnectionNews = {}): void {
      const d = opts.registry.get(deviceId)
      if (!d) return
      if (status === 'online') return void plannedOffline.delete(deviceId)
      if (how.planned) {
        plannedOffline.add(deviceId)
        lastWillOffline.delete(deviceId)
      } else {
        // A Last Will read back at our subscription may be our own broker's stop cutting every device off: only an
        // incident it already raised stands; otherwise the silence rule judges, after the grace from our start.
        const raised = silentRules.some((rule) => applies(rule, d) && holdOf(rule.id, d.id).hold.level > 0)
        if (how.retained && !raised) return
        plannedOffline.delete(deviceId)
        lastWillOffline.add(deviceId)
      }
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

/** An incident's title at a level: the rule's and the level's names (replay rebuilds past titles with it too). */
export const titleOf = (rule: Pick<AlertRule, 'title'>, def: Pick<LevelDef, 'name'>): LocalizedText => ({
  vi: `${rule.title.vi}: ${def.name.vi}`,
  en: `${rule.title.en}: ${def.name.en}`,
})
const severityWorse = (a: Severity, b: Severity) => severityRank[a] > severityRank[b]
