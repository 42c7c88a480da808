import { severityRank, type Incident } from '../schema.ts'

/*
 * An incident as it stood at the replay cursor, from the events the replay API sent with it (all its events up to the
 * end of a window). The server rebuilds past fields from the rules it runs (packages/alerts incident-as-of.ts); the map
 * has no rules, so a level's severity, title and action come from what it has seen of that rule's level: every
 * incident the replay brought is a sample (`learn`). A level never seen takes the incident's own fields (its latest).
 */

interface LevelText {
  severity: Incident['severity']
  title: Incident['title']
  action: Incident['action']
}

/** What each rule's levels looked like, learned from incidents as they stood. */
export class LevelTexts {
  readonly #byLevel = new Map<string, LevelText>()
  learn(list: Iterable<Incident>): void {
    for (const i of list)
      if (i.level > 0) this.#byLevel.set(`${i.ruleId}\u0000${i.subject}\u0000${i.level}`, { severity: i.severity, title: i.title, action: i.action })
  }
  get(i: Incident, level: number): LevelText | undefined {
    return this.#byLevel.get(`${i.ruleId}\u0000${i.subject}\u0000${level}`)
  }
}

/** The incident at `t` (its events with `at` ≤ t), or undefined when it was not raised yet. */
export function incidentAt(inc: Incident, t: number, texts: LevelTexts): Incident | undefined {
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
  const own: LevelText = { severity: inc.severity, title: inc.title, action: inc.action }
  for (const e of events) {
    if (e.type === 'raised' || e.type === 'escalated' || e.type === 'deescalated') {
      const before = out.severity
      const text = texts.get(inc, e.level) ?? own
      if (e.type === 'raised') out.peakLevel = e.level
      Object.assign(out, { severity: text.severity, title: text.title, action: text.action })
      // a worse severity needs a fresh acknowledgement, as the engine reopens it
      if (e.type === 'escalated' && severityRank[out.severity] > severityRank[before])
        Object.assign(out, { acknowledgedAt: null, acknowledgedBy: null, ackNote: null })
      out.state = out.acknowledgedAt !== null ? 'acknowledged' : 'open'
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
  return out
}

/** On the replayed incident list: raised and its condition still holding (a cleared one leaves it, as the cursor passes). */
export const shownAt = (i: Incident): boolean => i.state === 'open' || i.state === 'acknowledged'
