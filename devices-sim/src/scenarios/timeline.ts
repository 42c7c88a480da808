import { LOCAL_OFFSET_MS } from '../generators/time.ts'

/**
 * A storyline's pacing: run at `speed` while simulated time is before `untilMs`, step after step; after the last
 * step, the scenario's own speed. Slower near a high water, so a level really holds for minutes of wall time (the
 * alert rules' holds are measured on reading time, which is real time) without a bypass.
 */
export interface PaceStep {
  /** Simulated ms UTC. */
  untilMs: number
  speed: number
}
export type Pace = readonly PaceStep[]

/** Real ms after start at which simulated time t is reached. */
export function realOffset(startMs: number, t: number, speed: number, pace: Pace = []): number {
  let real = 0
  let at = startMs
  for (const p of pace) {
    if (t <= at) break
    const end = Math.min(t, p.untilMs)
    if (end > at) {
      real += (end - at) / p.speed
      at = end
    }
  }
  if (t > at) real += (t - at) / speed
  return Math.max(0, Math.round(real))
}

/** Simulated ms UTC reached `realMs` after start: the inverse of realOffset. */
export function simAt(startMs: number, realMs: number, speed: number, pace: Pace = []): number {
  let at = startMs
  let left = realMs
  for (const p of pace) {
    if (p.untilMs <= at) continue
    const span = (p.untilMs - at) / p.speed
    if (left <= span) return at + left * p.speed
    left -= span
    at = p.untilMs
  }
  return at + left * speed
}

/** Simulated seconds per real second at simulated time t. */
export function speedAt(t: number, speed: number, pace: Pace = []): number {
  for (const p of pace) if (t < p.untilMs) return p.speed
  return speed
}

/** "2025-10-06 17:42" in Mỹ Tho time (UTC+7), for people reading expectations. */
export const localLabel = (t: number): string => new Date(t + LOCAL_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ')
