import type { DeviceRecord } from '@mytho/schema'
import { hash32, type Rng, gaussian } from '../prng.ts'
import { clamp, localHour, round } from './time.ts'
import { cloudiness } from './weather.ts'

/*
 * A 12 V lead-acid pack on a small solar panel (water, salinity and rain stations): it drains all
 * night under the logger's load and recharges slowly after sunrise, faster under a clear sky.
 * At 10.35° N the sun rises ~06:00 and sets ~18:00 local all year (§4 street lighting). Readings
 * stay within ~12.0–13.5 V; an ageing pack (per device, seeded) sits up to 0.25 V lower.
 *
 * Closed form in t rather than integrated, so a reading depends only on (device, t, seed) and an
 * accelerated run cannot drift.
 */
const REST_FULL_V = 12.85
const ABSORB_V = 13.45

export function batteryVoltage(device: DeviceRecord, t: number, seed: number, rng: Rng): number {
  const h = localHour(t)
  const ageing = ((hash32(seed, 'battery-age', device.id) % 1000) / 1000) * 0.25
  // Night load: 0.03–0.05 V/h drain from the resting voltage at sunset.
  const drain = 0.03 + ((hash32(seed, 'battery-load', device.id) % 1000) / 1000) * 0.02
  const dawnV = REST_FULL_V - drain * 12
  let v: number
  if (h >= 6 && h < 18) {
    // Charging toward absorption: time constant 2.5 h under a clear sky, up to 7 h when overcast.
    const tau = 2.5 + 4.5 * cloudiness(seed, device.ward, t)
    v = dawnV + (ABSORB_V - dawnV) * (1 - Math.exp(-(h - 6) / tau))
  } else {
    const sinceSunset = h >= 18 ? h - 18 : h + 6
    v = REST_FULL_V - drain * sinceSunset
  }
  return round(clamp(v - ageing + 0.01 * gaussian(rng), 11.5, 14), 2)
}
