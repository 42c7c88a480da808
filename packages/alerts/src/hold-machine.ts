/*
 * The level of one rule for one subject, moved by evaluations over time with hold times: a new higher level
 * is taken only after it has been wanted for `raiseHoldMs`, a lower one only after `clearHoldMs`. Pure data,
 * so it is persisted as is and a restart in the middle of a hold keeps the timer.
 */
export interface HoldState {
  /** Level in force (0 = no incident). */
  level: number
  /** Level wanted but not yet in force, and since when (evaluation time, ms). */
  pendingLevel: number | null
  pendingSince: number | null
  /** Time of the last evaluation; older evaluations (out-of-order readings) are ignored. */
  lastAt: number
}

export const initialHold = (): HoldState => ({ level: 0, pendingLevel: null, pendingSince: null, lastAt: 0 })

export interface HoldStep {
  state: HoldState
  /** The level in force changed from → to at this step. */
  changed: { from: number; to: number } | null
}

/**
 * Advances the machine. A pending change in the same direction keeps its start time when the wanted level
 * differs (escalating I → III while I → II was pending keeps the clock), and resets when direction flips.
 */
export function stepHold(s: HoldState, wanted: number, at: number, raiseHoldMs: number, clearHoldMs: number): HoldStep {
  if (at < s.lastAt) return { state: s, changed: null }
  if (wanted === s.level) return { state: { level: s.level, pendingLevel: null, pendingSince: null, lastAt: at }, changed: null }
  const up = wanted > s.level
  const sameDirection = s.pendingLevel !== null && s.pendingLevel > s.level === up
  const since = sameDirection && s.pendingSince !== null ? s.pendingSince : at
  const hold = up ? raiseHoldMs : clearHoldMs
  if (at - since >= hold) return { state: { level: wanted, pendingLevel: null, pendingSince: null, lastAt: at }, changed: { from: s.level, to: wanted } }
  return { state: { level: s.level, pendingLevel: wanted, pendingSince: since, lastAt: at }, changed: null }
}

/**
 * The level a value wants, given the level in force: a level is entered at its `set` and kept until its
 * `clear` (hysteresis). `levels` are ordered from 1 (lowest) upward.
 */
export function wantedLevel(levels: readonly { set: number; clear: number }[], direction: 'above' | 'below', current: number, value: number): number {
  // Runs for every reading of every rule: a plain loop, no closures.
  const above = direction === 'above'
  let wanted = 0
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!
    const n = i + 1
    const beyond = above ? value >= l.set : value <= l.set
    if (beyond || (n <= current && (above ? value > l.clear : value < l.clear))) wanted = n
  }
  return wanted
}
