import { incidentAsOf as foldAsOf, type Incident, type IncidentLevelText } from '@mytho/schema'
import { titleOf } from './engine.ts'
import type { AlertRule } from './rules.ts'

export { activeAsOf } from '@mytho/schema'

/*
 * The server's replay of an incident (issue #21): the schema's fold, with a past level's severity, title and action from
 * the rule the platform runs (a level the rules no longer have keeps the stored words).
 */
function levelTextOf(rules: readonly AlertRule[], inc: Incident): (level: number) => IncidentLevelText | undefined {
  const rule = rules.find((r) => r.id === inc.ruleId)
  return (level) => {
    if (!rule || rule.type === 'silent' || level < 1) return undefined
    const levels = rule.type === 'threshold' ? (rule.overrides?.[inc.subject]?.levels ?? rule.levels) : rule.levels
    const l = levels[level - 1]
    return l && { severity: l.severity, title: titleOf(rule, l), action: l.action ?? null }
  }
}

/** The incident at `t` (events with `at` ≤ t), or undefined when it was not raised yet. */
export const incidentAsOf = (inc: Incident, t: number, rules: readonly AlertRule[]): Incident | undefined => foldAsOf(inc, t, levelTextOf(rules, inc))
