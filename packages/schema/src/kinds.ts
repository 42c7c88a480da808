import { z } from 'zod'
import { deviceKinds, wardNames, wards } from './lists.ts'

export { deviceKinds, wardNames, wards }
export const DeviceKind = z.enum(deviceKinds)
export type DeviceKind = z.infer<typeof DeviceKind>

export const Ward = z.enum(wards)
export type Ward = z.infer<typeof Ward>
