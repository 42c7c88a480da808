import { round } from './time.ts'
import { type Generator, coveredSeconds } from './types.ts'
import { rainBetweenMm, rainRateMmH as rateAt } from './weather.ts'

/*
 * Tipping-bucket rain gauges: rain in the interval since the last report and the current
 * intensity, from the city's storm model (./weather.ts, ../shared/data/mytho-facts.md §2 "Rain").
 * The interval is capped at an hour: after a long outage the gauge reports the last hour only.
 */
export const rainGenerator: Generator<'rain'> = (device, t, state, rng) => {
  const from = t - coveredSeconds(device, t, state) * 1000
  const mm = rainBetweenMm(state.seed, device.ward, from, t)
  const rate = rateAt(state.seed, device.ward, t)
  // Bucket resolution 0.1 mm; intensity read to 0.1 mm/h with a few per cent of sensor scatter.
  const rainMm = round(Math.min(500, mm), 1)
  const rainRateMmH = rate < 0.05 ? 0 : round(Math.min(400, rate * (0.97 + 0.06 * rng())), 1)
  return { kind: 'rain', rainMm, rainRateMmH }
}
