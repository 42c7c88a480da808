import type { Incident } from './incidents.ts'
import { severityRank } from './lists.ts'

/*
 * An incident as it stood at a past instant (replay, issue #21): its events up to then, and the fields the store keeps
 * current (level, state, severity, title, action, values, acknowledgement, clearing) rebuilt from those events the way
 * the engine and the acknowledgement wrote them. One fold for the server (which knows the rules) and the map (which
 * only knows what incidents it has seen): each says where a level's severity, title and action come from.
 */

export interface IncidentLevelText {
  severity: Incident['severity']
  title: Incident['title']
  action: Incident['action']
}

/**
 * The incident at `t` (events with `at` ≤ t), or undefined when it was not raised yet. `levelText` gives a level's
 * words; undefined keeps what the incident had (its latest, or an earlier event's).
 */
export function incidentAsOf(inc: Incident, t: number, levelText: (level: number) => IncidentLevelText | undefined): Incident | undefined {
  if (inc.raisedAt > t) return undefined
  const events = inc.events.filter((e) => e.at <= t)
  const last = events.at(-1)
  if (!last) return undefined
  if (events.length === inc.events.length) return inc
  const out: Incident = {
    ...inc,
    events,
    state: 'open',
    acknowledgedAt: null,
    acknowledgedBy: null,
    ackNote: null,
    clearedAt: null,
    closedAt: null,
    updatedAt: last.at,
  }
  let peakValue: number | null = null
  for (const e of events) {
    if (e.type === 'raised' || e.type === 'escalated' || e.type === 'deescalated') {
      const before = out.severity
      const text = levelText(e.level)
      if (e.type === 'raised') out.peakLevel = e.level
      if (text) Object.assign(out, { severity: text.severity, title: text.title, action: text.action })
      // A worse severity needs a fresh acknowledgement (the engine's reopen).
      if (e.type === 'escalated' && severityRank[out.severity] > severityRank[before])
        Object.assign(out, { acknowledgedAt: null, acknowledgedBy: null, ackNote: null })
      out.state = out.acknowledgedAt !== null ? 'acknowledged' : 'open'
      if (e.value !== null && (peakValue === null || (e.level >= out.peakLevel && Math.abs(e.value) > Math.abs(peakValue)))) peakValue = e.value
      out.level = e.level
      out.peakLevel = Math.max(out.peakLevel, e.level)
      if (e.value !== null) out.lastValue = e.value
    } else if (e.type === 'acknowledged') {
      Object.assign(out, { acknowledgedAt: e.at, acknowledgedBy: e.by ?? null, ackNote: e.note ?? null })
      if (out.state !== 'cleared') out.state = 'acknowledged'
    } else if (e.type === 'cleared') {
      out.level = 0
      out.clearedAt = e.at
      if (e.value !== null) out.lastValue = e.value
      out.state = out.acknowledgedAt !== null ? 'closed' : 'cleared'
      if (out.state === 'closed') out.closedAt = e.at
    } else if (e.type === 'closed') {
      out.state = 'closed'
      out.closedAt = e.at
    } else if (e.type === 'reopened') {
      Object.assign(out, { state: 'open', clearedAt: null, acknowledgedAt: null, acknowledgedBy: null, ackNote: null })
    }
  }
  // Values between events (touchValue) leave no trace: the peak is the worst an event recorded.
  out.peakValue = peakValue ?? inc.peakValue
  return out
}

/** Whether an incident (as of an instant) was active then: raised and not yet cleared. */
export const activeAsOf = (inc: Incident): boolean => inc.state === 'open' || inc.state === 'acknowledged'
