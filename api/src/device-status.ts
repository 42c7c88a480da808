import { createDeviceJudge, defaultAlertRules, type DeviceJudge, type Judged } from '@mytho/alerts'
import type { DeviceConnectionStatus, DeviceRecord, DeviceStatus } from '@mytho/schema'

/** A device is offline after missing three of its own reporting intervals. */
export const OFFLINE_AFTER_INTERVALS = 3

/** How long a device may stay silent before it is offline, ms. */
export const silenceLimitMs = (d: Pick<DeviceRecord, 'intervalS'>): number => OFFLINE_AFTER_INTERVALS * d.intervalS * 1000

/*
 * A live device's warning or alarm is judged by @mytho/alerts' device judge on the rule set the alert engine runs
 * (ALERT_RULES_FILE or the built-in rules), never by a ladder of its own here: marker and incident agree.
 */
const builtInJudge = createDeviceJudge(defaultAlertRules)

export interface StatusInputs {
  /** A reading, or in a replay a 5-minute bucket of them (judged on its worst value). */
  lastReading: Judged | null
  lastSeen: number | null
  connection: DeviceConnectionStatus | null
  /** When the connection status was last heard, UTC ms. */
  connectionAt: number
}

/**
 * Never show stale data as live: no reading → never_seen; the device's Last Will said offline (and nothing was
 * heard from it since) or it missed three intervals → offline; else its latest reading's level.
 */
export function statusOf(d: Pick<DeviceRecord, 'id' | 'kind' | 'intervalS'>, s: StatusInputs, now: number, judge: DeviceJudge = builtInJudge): DeviceStatus {
  if (!s.lastReading || s.lastSeen === null) return 'never_seen'
  if (s.connection === 'offline' && s.connectionAt >= s.lastSeen) return 'offline'
  if (now - s.lastSeen > silenceLimitMs(d)) return 'offline'
  return judge(d, s.lastReading)
}
