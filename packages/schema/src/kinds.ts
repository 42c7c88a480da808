import { z } from 'zod'

/** The five kinds of city device Mỹ Tho runs; a closed set, so a string-literal union. */
export const deviceKinds = ['traffic', 'water_level', 'rain', 'salinity', 'air_quality'] as const
export const DeviceKind = z.enum(deviceKinds)
export type DeviceKind = z.infer<typeof DeviceKind>

/**
 * The five wards of Mỹ Tho after 1 July 2025 (Resolution 1663/NQ-UBTVQH15, items 83–87;
 * ../shared/data/mytho-facts.md §0). Slugs are the GSO-coded ward folders of open-admin-data.
 */
export const wards = ['my-tho', 'dao-thanh', 'my-phong', 'thoi-son', 'trung-an'] as const
export const Ward = z.enum(wards)
export type Ward = z.infer<typeof Ward>

export const wardNames: Record<Ward, { vi: string; en: string }> = {
  'my-tho': { vi: 'Phường Mỹ Tho', en: 'My Tho ward' },
  'dao-thanh': { vi: 'Phường Đạo Thạnh', en: 'Dao Thanh ward' },
  'my-phong': { vi: 'Phường Mỹ Phong', en: 'My Phong ward' },
  'thoi-son': { vi: 'Phường Thới Sơn', en: 'Thoi Son ward' },
  'trung-an': { vi: 'Phường Trung An', en: 'Trung An ward' },
}
