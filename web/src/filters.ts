import { deviceKinds, deviceStatuses, wards, type DeviceKind, type DeviceStatus, type LiveDeviceState, type Ward } from './schema.ts'

/** What the operator wants to see; a full set means no filter. */
export interface Filters {
  kinds: Set<DeviceKind>
  statuses: Set<DeviceStatus>
  wards: Set<Ward>
}
export const allFilters = (): Filters => ({ kinds: new Set(deviceKinds), statuses: new Set(deviceStatuses), wards: new Set(wards) })
export const accepts = (f: Filters, d: LiveDeviceState): boolean => f.kinds.has(d.kind) && f.statuses.has(d.status) && f.wards.has(d.ward)
export const acceptsAll = (f: Filters): boolean =>
  f.kinds.size === deviceKinds.length && f.statuses.size === deviceStatuses.length && f.wards.size === wards.length
