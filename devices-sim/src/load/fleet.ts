import { CITY_BOUNDS, type DeviceRecord, loadRegistryFile } from '@mytho/schema'
import { rngFor } from '../prng.ts'

/*
 * A synthetic fleet for load: N devices `load-00001` … spread uniformly over the city bounds, each
 * a copy of a seed-fleet device taken in turn (so kinds, intervals, roads and water bodies come in
 * the seed fleet's proportions and every generator gets exercised). Deterministic in (n, seed).
 */
export const loadDeviceId = (i: number): string => `load-${String(i).padStart(5, '0')}`

export function syntheticFleet(n: number, seed: number, templates: readonly DeviceRecord[] = loadRegistryFile().devices): DeviceRecord[] {
  const rng = rngFor(seed, 'load-fleet', n)
  const { south, north, west, east } = CITY_BOUNDS
  return Array.from({ length: n }, (_, k) => {
    const t = templates[k % templates.length]!
    const { gatewayId: _g, ...template } = t
    const i = k + 1
    return {
      ...template,
      id: loadDeviceId(i),
      nameVi: `Thiết bị thử tải ${i} (${t.nameVi})`,
      nameEn: `Load-test device ${i} (${t.nameEn})`,
      lat: Math.round((south + (north - south) * rng()) * 1e5) / 1e5,
      lon: Math.round((west + (east - west) * rng()) * 1e5) / 1e5,
      locationConfidence: 'C' as const,
    }
  })
}
