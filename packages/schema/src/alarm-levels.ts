import type { DeviceKind } from './kinds.ts'

/*
 * Default alarm thresholds per device kind, in one place: the alert rules, the simulator's scenario
 * expectations and the map's legend read them from here. Sources are sections of
 * ../shared/data/mytho-facts.md; per-station overrides come later (alerts issue).
 * Each ladder is ascending: a value at or above `min` has reached that level.
 */

/** The three flood alarm levels of Vietnamese hydrological bulletins (báo động I, II, III). */
export const waterAlarmLevels = ['BĐ I', 'BĐ II', 'BĐ III'] as const
export type WaterAlarmLevel = (typeof waterAlarmLevels)[number]

export interface AlarmStep<L extends string = string> {
  level: L
  /** Threshold in the unit of `metric`; reached at `value >= min`. */
  min: number
  /** Vietnamese first, as operators read it. */
  labelVi: string
  labelEn: string
  /** Where the number comes from; `suggestion` means not sourced, check before showing as official. */
  source: string
}

/**
 * Water level at the Mỹ Tho station, cm on the national datum (§2 "Water level at Mỹ Tho station").
 * BĐ III = 160 cm is derived from two bulletins; BĐ I = 140 and BĐ II = 150 are the sheet's
 * suggestion (0.10 m steps as at neighbouring stations), not sourced.
 */
export const WATER_LEVEL_ALARMS_CM: readonly AlarmStep<WaterAlarmLevel>[] = [
  { level: 'BĐ I', min: 140, labelVi: 'Báo động I', labelEn: 'Alarm level I', source: '§2 suggestion (not sourced)' },
  { level: 'BĐ II', min: 150, labelVi: 'Báo động II', labelEn: 'Alarm level II', source: '§2 suggestion (not sourced)' },
  { level: 'BĐ III', min: 160, labelVi: 'Báo động III', labelEn: 'Alarm level III', source: '§2 bulletins (Mỹ Tho 1.60 m = BĐ3)' },
]

/**
 * Salinity, g/L (§4 "Salinity intrusion"): 0.25 g/L water-intake stop (QCVN 01, BOO Đồng Tâm),
 * 1 g/L fruit-tree irrigation warning, 4 g/L rice warning / severe (agency isohalines; levels a suggestion).
 */
export const SALINITY_ALARMS_GL: readonly AlarmStep[] = [
  { level: 'intake', min: 0.25, labelVi: 'Ngưng lấy nước sinh hoạt', labelEn: 'Stop drinking-water intake', source: '§4 QCVN 01 250 mg/L' },
  { level: 'fruit', min: 1, labelVi: 'Cảnh báo tưới cây ăn trái', labelEn: 'Fruit-tree irrigation warning', source: '§4 suggestion (1‰ isohaline)' },
  { level: 'severe', min: 4, labelVi: 'Mặn nghiêm trọng (lúa)', labelEn: 'Severe (rice)', source: '§4 suggestion (4‰ isohaline)' },
]

/** PM2.5 24-h mean limit, µg/m³ (QCVN 05, §4 "Air quality"). */
export const PM25_24H_LIMIT_UG_M3 = 50

/** Rain classes by accumulated mm over 24 h and over 12 h (§2 "Rain": mưa vừa / to / rất to). */
export const RAIN_CLASSES_MM: readonly (AlarmStep & { min12h: number })[] = [
  { level: 'moderate', min: 16, min12h: 8, labelVi: 'Mưa vừa', labelEn: 'Moderate rain', source: '§2 rain classes' },
  { level: 'heavy', min: 51, min12h: 26, labelVi: 'Mưa to', labelEn: 'Heavy rain', source: '§2 rain classes' },
  { level: 'very_heavy', min: 101, min12h: 51, labelVi: 'Mưa rất to', labelEn: 'Very heavy rain', source: '§2 rain classes' },
]

/** The default ladder and the reading field it applies to, per kind; traffic alarms are per road segment (later). */
export const DEFAULT_ALARMS = {
  water_level: { metric: 'waterLevelCm', steps: WATER_LEVEL_ALARMS_CM },
  salinity: { metric: 'salinityGL', steps: SALINITY_ALARMS_GL },
  air_quality: {
    metric: 'pm25UgM3',
    steps: [{ level: 'qcvn-24h', min: PM25_24H_LIMIT_UG_M3, labelVi: 'Vượt QCVN 05 (24 giờ)', labelEn: 'Above QCVN 05 (24 h)', source: '§4 QCVN 05' }],
  },
  rain: { metric: 'rainMm', steps: RAIN_CLASSES_MM },
} as const satisfies Partial<Record<DeviceKind, { metric: string; steps: readonly AlarmStep[] }>>
