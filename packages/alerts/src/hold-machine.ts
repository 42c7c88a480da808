/*
 * The level of one rule for one subject, moved by evaluations over time with hold times measured per level, as
 * the on-delay and off-delay of ISA-18.2 / IEC 62682: level n comes into force once the value has wanted ≥ n
 * continuously for `raiseHoldMs`, and is left once it has wanted < n continuously for `clearHoldMs`. So a river
 * rising through BĐ I, II and III escalates 5 minutes after each crossing, not 5 minutes after it stopped rising.
 * Pure data, so it is persisted as is and a restart in the middle of a hold keeps the timers.
 */
export interface HoldState {
  /** Level in force (0 = no incident). */
  level: number
  /** Level wanted but not yet in force, and since when its first step has been wanted (evaluation time, ms). */
  pendingLevel: number | null
  pendingSince: number | null
  /** Time of the last evaluation; older evaluations (out-of-order readings) are ignored. */
  lastAt: number
  /**
   * Per level n (index n − 1): since when "wanted ≥ n" has disagreed with "n in force" without a break, or null
   * while they agree. Absent in records written before per-level holds: derived from pendingLevel/pendingSince.
   */
  since?: (number | null)[]
}

export const initialHold = (): HoldState => ({ level: 0, pendingLevel: null, pendingSince: null, lastAt: 0, since: [] })

export interface HoldStep {
  state: HoldState
  /** The level in force changed from → to at this step. */
  changed: { from: number; to: number } | null
}

/** A record from before per-level holds had one pending clock: it stands for every level between in force and pending. */
function sinceOf(s: HoldState): (number | null)[] {
  if (s.since) return s.since
  const out: (number | null)[] = new Array(Math.max(s.level, s.pendingLevel ?? 0)).fill(null)
  if (s.pendingLevel !== null && s.pendingSince !== null) {
    const [lo, hi] = s.pendingLevel > s.level ? [s.level, s.pendingLevel] : [s.pendingLevel, s.level]
    for (let n = lo + 1; n <= hi; n++) out[n - 1] = s.pendingSince
  }
  return out
}

/** Per-level clocks after `level` is in force and `wanted` is wanted at `at`: kept while the disagreement lasts. */
function track(since: readonly (number | null)[], level: number, wanted: number, at: number): (number | null)[] {
  const out: (number | null)[] = []
  const top = Math.max(level, wanted)
  for (let n = 1; n <= top; n++) out.push(wanted >= n !== level >= n ? (since[n - 1] ?? at) : null)
  return out
}

/** True when a step changed anything worth persisting (not just lastAt). */
export function holdMoved(a: HoldState, b: HoldState): boolean {
  if (a.level !== b.level || a.pendingLevel !== b.pendingLevel || a.pendingSince !== b.pendingSince) return true
  const x = a.since ?? []
  const y = b.since ?? []
  if (a.since === undefined || x.length !== y.length) return true
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return true
  return false
}

/**
 * Advances the machine. Raising goes straight to the highest level whose own hold is met (levels below it are
 * met too: wanting ≥ n implies wanting ≥ n − 1); clearing leaves every level whose clear hold is met.
 */
export function stepHold(s: HoldState, wanted: number, at: number, raiseHoldMs: number, clearHoldMs: number): HoldStep {
  if (at < s.lastAt) return { state: s, changed: null }
  const since = track(sinceOf(s), s.level, wanted, at)
  let level = s.level
  if (wanted > s.level) {
    for (let n = wanted; n > s.level; n--)
      if (at - since[n - 1]! >= raiseHoldMs) {
        level = n
        break
      }
  } else if (wanted < s.level) {
    for (let n = wanted + 1; n <= s.level; n++)
      if (at - since[n - 1]! >= clearHoldMs) {
        level = n - 1
        break
      }
  }
  const after = level === s.level ? since : track(since, level, wanted, at)
  const pendingLevel = wanted === level ? null : wanted
  // The step nearest the level in force started first (wanting ≥ n + 1 implies wanting ≥ n): its clock is the oldest.
  const pendingSince = pendingLevel === null ? null : (after[(pendingLevel > level ? level + 1 : level) - 1] ?? null)
  const state: HoldState = { level, pendingLevel, pendingSince, lastAt: at, since: trimmed(after) }
  return { state, changed: level === s.level ? null : { from: s.level, to: level } }
}

/** Trailing agreeing levels carry no clock: kept short so the persisted record stays small. */
function trimmed(since: (number | null)[]): (number | null)[] {
  let end = since.length
  while (end > 0 && since[end - 1] === null) end--
  return end === since.length ? since : since.slice(0, end)
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
