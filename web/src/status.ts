import { deviceStatuses, type DeviceStatus } from './schema.ts'

/** Worst first: a cluster takes the colour of the first status in this order that it contains. */
export const severityOrder: readonly DeviceStatus[] = ['alarm', 'warning', 'offline', 'never_seen', 'ok']
export const statusIndex: Record<DeviceStatus, number> = Object.fromEntries(deviceStatuses.map((s, i) => [s, i])) as Record<DeviceStatus, number>

export const statusColors: Record<DeviceStatus, string> = {
  ok: '#1a9850',
  warning: '#f39c12',
  alarm: '#d7191c',
  offline: '#6b7785',
  never_seen: '#b3bcc6',
}

/** counts is indexed like deviceStatuses. */
export function worstStatus(counts: ArrayLike<number>): DeviceStatus {
  for (const s of severityOrder) if ((counts[statusIndex[s]] ?? 0) > 0) return s
  return 'ok'
}
