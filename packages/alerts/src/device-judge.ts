import type { AlarmLine, DeviceRecord, Severity, StoredReading } from '@mytho/schema'
import type { AlertRule } from './rules.ts'

/*
 * The one judge of a device's marker: its latest reading against the rule set the alert engine runs (built-in or
 * ALERT_RULES_FILE), so a city that moves a threshold moves the marker and the incident together.
 *
 * The marker shows now; the incident follows the holds. So the judge takes each level's `set` as it stands, with no
 * hold and no hysteresis (a value between `clear` and `set` on its way down is already back to ok on the map while
 * the incident waits out its clear hold). A rule judged on a rolling mean (PM2.5's 24-h limit) is judged here on the
 * latest value: the map flags an episode early, on purpose.
 *
 * Colours follow the severity of the level reached: critical → alarm, warning → warning. An info level (a battery
 * getting low) leaves the marker ok: it is listed as an incident but asks nothing
 * urgent of the room. Rules on the device's own health (`batteryV`) do not colour it unless they say `onMap: true`:
 * a gauge with a weak battery is not a flood. Silence is the map's `offline`, judged apart (api device-status.ts).
 */

export type MarkerLevel = 'ok' | 'warning' | 'alarm'

/** Reading fields about the device itself, not what it measures. */
export const DEVICE_HEALTH_METRICS: ReadonlySet<string> = new Set(['batteryV'])

const markerOf: Record<Severity, MarkerLevel> = { info: 'ok', warning: 'warning', critical: 'alarm' }
const rank: Record<MarkerLevel, number> = { ok: 0, warning: 1, alarm: 2 }

const ruleMetrics = (rule: AlertRule): string[] =>
  rule.type === 'threshold' ? [rule.metric] : rule.type === 'condition' ? rule.levels.flatMap((l) => l.conditions.map((c) => c.metric)) : []

/** Whether the rule colours markers: `onMap` when given, else only when it watches a measurement. */
export const ruleOnMap = (rule: AlertRule): boolean => rule.type !== 'silent' && (rule.onMap ?? !ruleMetrics(rule).every((m) => DEVICE_HEALTH_METRICS.has(m)))

const beyond = (op: 'above' | 'below', value: number, set: number) => (op === 'above' ? value >= set : value <= set)

/**
 * What a judge reads: a reading's fields, or a span of readings (a replay's 5-minute roll-up bucket: fields its means)
 * with each metric's min and max, so each rule is judged on the span's worst value in its own direction and a bucket
 * holding one minute at BĐ III is an alarm, not the mean's BĐ II.
 */
export type Judged = Pick<StoredReading, 'fields'> & { span?: { min: Record<string, number>; max: Record<string, number> } }

const judgedValue = (r: Judged, metric: string, op: 'above' | 'below'): number | undefined =>
  (r.span ? (op === 'above' ? r.span.max : r.span.min)[metric] : undefined) ?? r.fields[metric]

/** The level (1-based; 0 none) one rule gives one reading of one device, now. */
export function levelNow(rule: AlertRule, device: Pick<DeviceRecord, 'id' | 'kind'>, reading: Judged): number {
  if (!rule.kinds.includes(device.kind) || (rule.devices && !rule.devices.includes(device.id))) return 0
  if (rule.type === 'threshold') {
    const value = judgedValue(reading, rule.metric, rule.direction)
    if (value === undefined) return 0
    const levels = rule.overrides?.[device.id]?.levels ?? rule.levels
    let reached = 0
    levels.forEach((l, i) => {
      if (beyond(rule.direction, value, l.set)) reached = i + 1
    })
    return reached
  }
  if (rule.type === 'condition') {
    let reached = 0
    rule.levels.forEach((l, i) => {
      const results = l.conditions.map((c) => {
        const v = judgedValue(reading, c.metric, c.op)
        return v === undefined ? undefined : beyond(c.op, v, c.set)
      })
      if (results.every((x) => x === undefined)) return
      const met = rule.match === 'all' ? results.every((x) => x === true) : results.some((x) => x === true)
      if (met) reached = i + 1
    })
    return reached
  }
  return 0
}

const severityAt = (rule: AlertRule, deviceId: string, level: number): Severity => {
  if (rule.type === 'threshold') {
    const levels = rule.overrides?.[deviceId]?.levels ?? rule.levels
    return levels[level - 1]!.severity
  }
  if (rule.type === 'condition') return rule.levels[level - 1]!.severity
  return rule.severity
}

/** The marker of a device's latest reading under `rules`: the worst level any of its map rules reaches now. */
export function judgeReading(rules: readonly AlertRule[], device: Pick<DeviceRecord, 'id' | 'kind'>, reading: Judged): MarkerLevel {
  let worst: MarkerLevel = 'ok'
  for (const rule of rules) {
    if (!ruleOnMap(rule)) continue
    const level = levelNow(rule, device, reading)
    if (level === 0) continue
    const m = markerOf[severityAt(rule, device.id, level)]
    if (rank[m] > rank[worst]) worst = m
    if (worst === 'alarm') break
  }
  return worst
}

/** A judge bound to one rule set, as the API's live state holds it. */
export type DeviceJudge = (device: Pick<DeviceRecord, 'id' | 'kind'>, reading: Judged) => MarkerLevel

export function createDeviceJudge(rules: readonly AlertRule[]): DeviceJudge {
  // Per kind, only the rules that can colour it: the live state judges every reading of the city.
  const byKind = new Map<string, AlertRule[]>()
  for (const rule of rules) if (ruleOnMap(rule)) for (const k of rule.kinds) byKind.set(k, [...(byKind.get(k) ?? []), rule])
  return (device, reading) => judgeReading(byKind.get(device.kind) ?? [], device, reading)
}

/**
 * The lines a device's chart draws: where each level of each map rule begins for this device (its override or the
 * rule's own levels), so the chart, the marker and the incident read the same numbers. A condition rule gives a line
 * per condition of each level (congestion: the speed and the occupancy lines).
 */
export function alarmLinesFor(rules: readonly AlertRule[], device: Pick<DeviceRecord, 'id' | 'kind'>): AlarmLine[] {
  const out: AlarmLine[] = []
  for (const rule of rules) {
    if (!ruleOnMap(rule) || !rule.kinds.includes(device.kind) || (rule.devices && !rule.devices.includes(device.id))) continue
    if (rule.type === 'threshold') {
      const levels = rule.overrides?.[device.id]?.levels ?? rule.levels
      for (const l of levels) out.push({ metric: rule.metric, value: l.set, severity: l.severity, name: l.name, ruleId: rule.id })
    } else if (rule.type === 'condition') {
      for (const l of rule.levels)
        for (const c of l.conditions) out.push({ metric: c.metric, value: c.set, severity: l.severity, name: l.name, ruleId: rule.id })
    }
  }
  return out
}
