import { incidentAsOf } from '@mytho/schema/incident-as-of'
import type { Incident } from '../schema.ts'

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

/** The incident at `t` (its events with `at` ≤ t), or undefined when it was not raised yet: the schema's fold, with words learned. */
export function incidentAt(inc: Incident, t: number, texts: LevelTexts): Incident | undefined {
  const own: LevelText = { severity: inc.severity, title: inc.title, action: inc.action }
  return incidentAsOf(inc, t, (level) => texts.get(inc, level) ?? own)
}

/** On the replayed incident list: raised and its condition still holding (a cleared one leaves it, as the cursor passes). */
export const shownAt = (i: Incident): boolean => i.state === 'open' || i.state === 'acknowledged'
