import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { defaultAlertRules } from '../src/default-rules.ts'
import { loadAlertRulesFile, parseAlertRules } from '../src/rules.ts'

describe('alert rules file', () => {
  it('names the rule and the field that is wrong', () => {
    const bad = {
      rules: [
        {
          id: 'flood',
          type: 'threshold',
          title: { vi: 'Ngập', en: 'Flood' },
          kinds: ['water_level'],
          metric: 'waterLevelCm',
          direction: 'above',
          levels: [{ level: 1, name: { vi: 'I', en: 'I' }, severity: 'warning', set: 140, clear: 150 }],
        },
        {
          id: 'jam',
          type: 'condition',
          title: { vi: 'Tắc', en: 'Jam' },
          kinds: ['traffic'],
          conditions: [],
          severity: 'urgent',
          levelName: { vi: 'x', en: 'x' },
        },
      ],
    }
    expect(() => parseAlertRules(bad, 'rules.json')).toThrowErrorMatchingInlineSnapshot(`
      [AlertRulesError: rules.json is invalid:
        rule "flood" field levels.0.clear: clear must be ≤ set (140) for a rule that fires above
        rule "jam" field conditions: Too small: expected array to have >=1 items
        rule "jam" field severity: Invalid option: expected one of "info"|"warning"|"critical"]
    `)
  })

  it('the example rules file is the built-in rules, so operators start from what runs', () => {
    const example = fileURLToPath(new URL('../../../config/alert-rules.example.json', import.meta.url))
    expect(loadAlertRulesFile(example)).toEqual(defaultAlertRules)
  })
})
