import { type Pace, simAt, speedAt } from './scenarios/timeline.ts'

/**
 * The simulated clock. At speed s, one real second is s simulated seconds, counted from `startMs`
 * (SIM_START, default the real start time). Only the *values* follow it: readings are stamped with
 * real time, because ingest rejects `ts` more than 5 minutes in the future and an accelerated
 * clock would pass that within seconds.
 */
export interface SimClock {
  /** Real time, ms UTC (reading `ts`). */
  realNow(): number
  /** Simulated time now, ms UTC (what values are shaped by). */
  simNow(): number
  readonly speed: number
  /** Simulated seconds per real second now (a paced scenario slows near its high points). */
  speedNow(): number
}

export function createSimClock(opts: { speed: number; startMs?: number | undefined; now?: () => number; pace?: Pace | undefined }): SimClock {
  const now = opts.now ?? Date.now
  const realStart = now()
  const simStart = opts.startMs ?? realStart
  const pace = opts.pace ?? []
  const simNow = () => simAt(simStart, now() - realStart, opts.speed, pace)
  return {
    realNow: now,
    simNow,
    speed: opts.speed,
    speedNow: () => speedAt(simNow(), opts.speed, pace),
  }
}
