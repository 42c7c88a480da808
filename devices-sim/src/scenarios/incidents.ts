import type { IncidentExpectation, RuleAssumption } from './types.ts'

/** One moment of a subject's story: the level surely wanted (model beyond `set` by the noise margin) and the highest possibly held. */
export interface LevelSample {
  realMs: number
  /** Highest level n whose `set` the noise-free model passes by ≥ 3 σ: every reading wants ≥ n. */
  sure: number
  /** Highest level n a reading may still keep while n is in force (model within 3 σ of its `clear`). */
  maybe: number
  /** Highest level n a reading may want (model within 3 σ of its `set`): a level the noise might raise. */
  could: number
  /** Real ms until the subject's next reading at this moment's pace: the slack a hold may take to be seen. */
  intervalMs: number
}

/**
 * The incidents a rule raises for one subject, per level as the engine's hold machine does (ISA-18.2 on/off
 * delays): level n comes into force once surely wanted for the raise hold, leaves once not even possibly wanted for
 * the clear hold (`maybe` is judged against each level's `clear`). Conservative both ways, so a declared step
 * happens whatever the noise; a near miss is left undeclared.
 */
export function incidentsOf(rule: RuleAssumption, subject: string, samples: readonly LevelSample[]): IncidentExpectation[] {
  const sure = run(rule, samples, (s) => s.sure)
  // The same story with every doubtful reading going up: a level it reaches that the sure one does not is a near miss.
  const could = run(rule, samples, (s) => s.could)
  return sure.map((i) => {
    const top = Math.max(0, ...could.filter((c) => c.fromMs <= i.untilMs && c.untilMs >= i.fromMs).flatMap((c) => c.levels))
    const out: IncidentExpectation = { ruleId: rule.ruleId, subject, levels: i.levels, byRealMs: i.byRealMs }
    if (top > Math.max(...i.levels)) out.mayReach = top
    if (i.clearedByRealMs !== undefined) out.clearedByRealMs = i.clearedByRealMs
    return out
  })
}

interface Run {
  levels: number[]
  byRealMs: number
  clearedByRealMs?: number
  fromMs: number
  untilMs: number
}

function run(rule: RuleAssumption, samples: readonly LevelSample[], up: (s: LevelSample) => number): Run[] {
  const out: Run[] = []
  let open: Run | undefined
  let level = 0
  const upSince: (number | undefined)[] = []
  const downSince: (number | undefined)[] = []
  const raiseMs = rule.raiseHoldS * 1000
  const clearMs = rule.clearHoldS * 1000
  for (const s of samples) {
    const wants = up(s)
    const top = Math.max(wants, s.maybe, level)
    for (let n = 1; n <= top; n++) {
      upSince[n] = n > level && wants >= n ? (upSince[n] ?? s.realMs) : undefined
      downSince[n] = n <= level && s.maybe < n ? (downSince[n] ?? s.realMs) : undefined
    }
    let to = level
    for (let n = top; n > level; n--)
      if (upSince[n] !== undefined && s.realMs - upSince[n]! >= raiseMs) {
        to = n
        break
      }
    if (to === level)
      for (let n = 1; n <= level; n++)
        if (downSince[n] !== undefined && s.realMs - downSince[n]! >= clearMs) {
          to = n - 1
          break
        }
    if (open) open.untilMs = s.realMs
    if (to === level) continue
    const by = Math.round(s.realMs + s.intervalMs)
    if (to > level) {
      if (!open) out.push((open = { levels: [], byRealMs: by, fromMs: s.realMs, untilMs: s.realMs }))
      open.levels.push(to)
      open.byRealMs = by
    } else if (to === 0 && open) {
      open.clearedByRealMs = by
      open = undefined
    }
    // Clocks of levels still pending keep running; the next sample drops those that no longer apply.
    level = to
  }
  return out
}
