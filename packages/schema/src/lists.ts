/*
 * The closed sets and lookup tables the schemas are built from, in a module without zod: the map's first render
 * needs these, not the ~90 kB validator (web/src/schema.ts). The schema modules re-export them, so both import paths
 * name the same values.
 */

/** The five kinds of city device Mỹ Tho runs; a closed set, so a string-literal union. */
export const deviceKinds = ['traffic', 'water_level', 'rain', 'salinity', 'air_quality'] as const

/**
 * The five wards of Mỹ Tho after 1 July 2025 (Resolution 1663/NQ-UBTVQH15, items 83–87;
 * ../shared/data/mytho-facts.md §0). Slugs are the GSO-coded ward folders of open-admin-data.
 */
export const wards = ['my-tho', 'dao-thanh', 'my-phong', 'thoi-son', 'trung-an'] as const

export const wardNames: Record<(typeof wards)[number], { vi: string; en: string }> = {
  'my-tho': { vi: 'Phường Mỹ Tho', en: 'My Tho ward' },
  'dao-thanh': { vi: 'Phường Đạo Thạnh', en: 'Dao Thanh ward' },
  'my-phong': { vi: 'Phường Mỹ Phong', en: 'My Phong ward' },
  'thoi-son': { vi: 'Phường Thới Sơn', en: 'Thoi Son ward' },
  'trung-an': { vi: 'Phường Trung An', en: 'Trung An ward' },
}

export const deviceStatuses = ['ok', 'warning', 'alarm', 'offline', 'never_seen'] as const

/** Severity an operator sorts by; a closed set. */
export const severities = ['info', 'warning', 'critical'] as const
export const severityRank: Record<(typeof severities)[number], number> = { info: 1, warning: 2, critical: 3 }

/** Numeric fields a reading may carry per kind (what storage keeps and history queries ask for). */
export const metricsByKind = {
  traffic: ['vehicleCount', 'motorbikeCount', 'carCount', 'truckBusCount', 'avgSpeedKmh', 'occupancyPct', 'intervalS', 'batteryV'],
  water_level: ['waterLevelCm', 'batteryV'],
  rain: ['rainMm', 'rainRateMmH', 'batteryV'],
  salinity: ['salinityGL', 'waterTempC', 'batteryV'],
  air_quality: ['pm25UgM3', 'pm10UgM3', 'tempC', 'humidityPct', 'batteryV'],
} as const satisfies Record<(typeof deviceKinds)[number], readonly string[]>

/**
 * The unit each metric is shown with, keyed by the field names above (the unit is also in the name: `avgSpeedKmh`
 * is km/h). Counts have none (''). Here, without zod, so the map's first render can label values with it.
 * readings.test.ts checks the keys are exactly the reading shapes' fields and each unit matches its name's suffix.
 */
export const metricUnits = {
  vehicleCount: '',
  motorbikeCount: '',
  carCount: '',
  truckBusCount: '',
  avgSpeedKmh: 'km/h',
  occupancyPct: '%',
  intervalS: 's',
  batteryV: 'V',
  waterLevelCm: 'cm',
  rainMm: 'mm',
  rainRateMmH: 'mm/h',
  salinityGL: 'g/L',
  waterTempC: '°C',
  pm25UgM3: 'µg/m³',
  pm10UgM3: 'µg/m³',
  tempC: '°C',
  humidityPct: '%',
} as const satisfies Record<(typeof metricsByKind)[keyof typeof metricsByKind][number], string>
