import { describe, expect, it } from 'vitest'
import { parseAlertRules } from '../src/rules.ts'

describe('alert rules file', () => {
  it('names the rule and the field that is wrong', () => {
    const bad = {
      rules: [
        { id: 'flood', type: 'threshold', title: { vi: 'Ngập', en: 'Flood' }, kinds: ['water_level'], metric: 'waterLevelCm', direction: 'above', levels: [{ level: 1, name: { vi: 'I', en: 'I' }, severity: 'warning', set: 140, clear: 150 }] },
        { id: 'jam', type: 'condition', title: { vi: 'Tắc', en: 'Jam' }, kinds: ['traffic'], conditions: [], severity: 'urgent', levelName: { vi: 'x', en: 'x' } },
      ],
    }
    expect(() => parseAlertRules(bad, 'rules.json')).toThrowErrorMatchingInlineSnapshot(`
      [AlertRulesError: rules.json is invalid:
        rule "flood" field levels.0.clear: clear must be ≤ set (140) for a rule that fires above
        rule "jam" field conditions: Too small: expected array to have >=1 items
        rule "jam" field severity: Invalid option: expected one of "info"|"warning"|"critical"]
    `)
  })
})
