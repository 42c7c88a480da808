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
}

export function createSimClock(opts: { speed: number; startMs?: number | undefined; now?: () => number }): SimClock {
  const now = opts.now ?? Date.now
  const realStart = now()
  const simStart = opts.startMs ?? realStart
  return {
    realNow: now,
    simNow: () => simStart + (now() - realStart) * opts.speed,
    speed: opts.speed,
  }
}
