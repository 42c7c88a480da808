import type { DeviceKind } from './schema.ts'
import type { DictKey } from './i18n/index.ts'

/**
 * Alarm levels drawn on the 24 h charts. Kept here until packages/schema has a shared alarm-levels module
 * (the alert rules in ingest should use the same numbers; move them there when alerts land).
 */
export interface AlarmLevel {
  value: number
  label: DictKey
  color: string
}

/** The metric a popup charts for each kind, and that the live feed shows. */
export const primaryMetric: Record<DeviceKind, string> = {
  traffic: 'avgSpeedKmh',
  water_level: 'waterLevelCm',
  rain: 'rainMm',
  salinity: 'salinityGL',
  air_quality: 'pm25UgM3',
}

export const alarmLevels: Partial<Record<string, AlarmLevel[]>> = {
  // ../shared/data/mytho-facts.md §2: BĐ III at Mỹ Tho station = 160 cm (sourced); BĐ I 140 / BĐ II 150 cm are the
  // facts sheet's *suggestion* (10 cm steps as at neighbouring stations), not yet verified against QĐ 05/2020/QĐ-TTg.
  waterLevelCm: [
    { value: 140, label: 'alarm_bd1', color: '#e6b800' },
    { value: 150, label: 'alarm_bd2', color: '#f07f00' },
    { value: 160, label: 'alarm_bd3', color: '#d7191c' },
  ],
  // §4: drinking-water plants pump only below 0.25 g/L; agencies report the 1 g/L and 4 g/L isohalines.
  salinityGL: [
    { value: 0.25, label: 'alarm_drinking', color: '#e6b800' },
    { value: 1, label: 'alarm_1gl', color: '#f07f00' },
    { value: 4, label: 'alarm_4gl', color: '#d7191c' },
  ],
  // §4: QCVN 05 24-hour limit for PM2.5, 50 µg/m³.
  pm25UgM3: [{ value: 50, label: 'alarm_qcvn', color: '#d7191c' }],
}
