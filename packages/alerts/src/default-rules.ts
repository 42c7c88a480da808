import { SALINITY_ALARMS_GL, WATER_LEVEL_ALARMS_CM, PM25_24H_LIMIT_UG_M3, type AlarmStep, type Severity } from '@mytho/schema'
import { parseAlertRules, type AlertRule, type RuleLevel } from './rules.ts'

/*
 * The rules a fresh install runs, built from the alarm ladders in @mytho/schema/alarm-levels (one home for
 * the numbers, sourced in ../shared/data/mytho-facts.md). An operator replaces them with ALERT_RULES_FILE.
 * Clear thresholds sit a step below each set threshold, so a value dithering around a line stays one level.
 */

const ladder = (steps: readonly AlarmStep[], severities: Severity[], clearGap: number): RuleLevel[] =>
  steps.map((s, i) => ({
    level: i + 1,
    name: { vi: s.labelVi, en: s.labelEn },
    severity: severities[i] ?? 'critical',
    set: s.min,
    clear: +(s.min - clearGap).toFixed(4),
  }))

export const defaultAlertRules: AlertRule[] = parseAlertRules(
  {
    rules: [
      {
        id: 'flood',
        type: 'threshold',
        title: { vi: 'Ngập do triều cường / lũ', en: 'Flood (high water)' },
        kinds: ['water_level'],
        metric: 'waterLevelCm',
        direction: 'above',
        // 5 cm of hysteresis: a 5-minute gauge on a turning tide wobbles by a few cm.
        levels: ladder(WATER_LEVEL_ALARMS_CM, ['warning', 'warning', 'critical'], 5),
        raiseHoldS: 300,
        clearHoldS: 900,
        reminderS: 900,
      },
      {
        id: 'salinity',
        type: 'threshold',
        title: { vi: 'Xâm nhập mặn', en: 'Salinity intrusion' },
        kinds: ['salinity'],
        metric: 'salinityGL',
        direction: 'above',
        levels: ladder(SALINITY_ALARMS_GL, ['info', 'warning', 'critical'], 0.05),
        raiseHoldS: 600,
        clearHoldS: 1800,
        reminderS: 3600,
      },
      {
        id: 'pm25',
        type: 'threshold',
        title: { vi: 'Bụi mịn PM2.5 vượt QCVN 05', en: 'PM2.5 above QCVN 05' },
        kinds: ['air_quality'],
        metric: 'pm25UgM3',
        direction: 'above',
        levels: [
          {
            level: 1,
            name: { vi: 'Vượt trung bình 24 giờ', en: 'Above the 24-h limit' },
            severity: 'warning',
            set: PM25_24H_LIMIT_UG_M3,
            clear: PM25_24H_LIMIT_UG_M3 - 5,
          },
        ],
        // The national limit is a 24-h mean, not an instant value (QCVN 05, facts §4).
        meanOverS: 86_400,
        raiseHoldS: 0,
        clearHoldS: 3600,
      },
      {
        id: 'congestion',
        type: 'condition',
        title: { vi: 'Ùn tắc giao thông', en: 'Traffic congestion' },
        kinds: ['traffic'],
        // Peak/congested 10–20 km/h vs free flow 30–70 (facts §3, suggestion); clear needs real recovery.
        conditions: [
          { metric: 'avgSpeedKmh', op: 'below', set: 15, clear: 22 },
          { metric: 'occupancyPct', op: 'above', set: 45, clear: 35 },
        ],
        match: 'any',
        groupBy: 'road',
        severity: 'warning',
        levelName: { vi: 'Ùn tắc', en: 'Congested' },
        raiseHoldS: 300,
        clearHoldS: 600,
      },
      {
        id: 'low-battery',
        type: 'threshold',
        title: { vi: 'Pin yếu', en: 'Low battery' },
        kinds: ['water_level', 'rain', 'salinity', 'traffic', 'air_quality'],
        metric: 'batteryV',
        direction: 'below',
        // 12 V lead-acid: ~11.8 V is about 20 % left, 11.3 V is close to cut-off.
        levels: [
          { level: 1, name: { vi: 'Pin yếu', en: 'Battery low' }, severity: 'info', set: 11.8, clear: 12.2 },
          { level: 2, name: { vi: 'Pin sắp cạn', en: 'Battery nearly empty' }, severity: 'warning', set: 11.3, clear: 11.6 },
        ],
        raiseHoldS: 600,
        clearHoldS: 1800,
      },
      {
        id: 'device-silent',
        type: 'silent',
        title: { vi: 'Thiết bị mất tín hiệu', en: 'Device silent' },
        kinds: ['water_level', 'rain', 'salinity', 'traffic', 'air_quality'],
        intervalMultiple: 3,
        onLastWill: true,
        severity: 'warning',
      },
    ],
  },
  'default alert rules',
)
