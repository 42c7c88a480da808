import { DEFAULT_ALARMS, type DeviceConnectionStatus, type DeviceKind, type DeviceRecord, type DeviceStatus, type StoredReading } from '@mytho/schema'

/** A device is offline after missing three of its own reporting intervals. */
export const OFFLINE_AFTER_INTERVALS = 3

/*
 * Alarm ladders come from the shared alarm-levels.ts. The top step of a ladder is `alarm`, any lower step
 * `warning`: BĐ III (160 cm) is the alarm, BĐ I/II warnings; salinity 4 g/L alarm, 0.25 and 1 g/L warnings;
 * PM2.5 has one step (50 µg/m³, QCVN 05) so it is an alarm. Rain is left out: its classes are 12/24-hour
 * accumulations, which one interval's `rainMm` is not; traffic has no default ladder yet.
 * The map shows the latest value, so an instantaneous PM2.5 above the 24-h limit is flagged early on purpose.
 */
const ladders: Partial<Record<DeviceKind, { metric: string; steps: readonly { min: number }[] }>> = {
  water_level: DEFAULT_ALARMS.water_level,
  salinity: DEFAULT_ALARMS.salinity,
  air_quality: DEFAULT_ALARMS.air_quality,
}

export function levelOf(reading: StoredReading): 'ok' | 'warning' | 'alarm' {
  const ladder = ladders[reading.kind]
  const value = ladder ? reading.fields[ladder.metric] : undefined
  if (!ladder || value === undefined) return 'ok'
  let reached = -1
  ladder.steps.forEach((step, i) => {
    if (value >= step.min) reached = i
  })
  return reached < 0 ? 'ok' : reached === ladder.steps.length - 1 ? 'alarm' : 'warning'
}

export interface StatusInputs {
  lastReading: StoredReading | null
  lastSeen: number | null
  connection: DeviceConnectionStatus | null
  /** When the connection status was last heard, UTC ms. */
  connectionAt: number
}

/**
 * Never show stale data as live: no reading → never_seen; the device's Last Will said offline (and nothing was
 * heard from it since) or it missed three intervals → offline; else its latest reading's level.
 */
export function statusOf(d: Pick<DeviceRecord, 'intervalS'>, s: StatusInputs, now: number): DeviceStatus {
  if (!s.lastReading || s.lastSeen === null) return 'never_seen'
  if (s.connection === 'offline' && s.connectionAt >= s.lastSeen) return 'offline'
  if (now - s.lastSeen > OFFLINE_AFTER_INTERVALS * d.intervalS * 1000) return 'offline'
  return levelOf(s.lastReading)
}
