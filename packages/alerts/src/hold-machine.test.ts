import { describe, expect, it } from 'vitest'
import { initialHold, stepHold, wantedLevel, type HoldState } from './hold-machine.ts'

const bd = [
  { set: 140, clear: 135 },
  { set: 150, clear: 145 },
  { set: 160, clear: 155 },
]

describe('wantedLevel (hysteresis)', () => {
  it('enters a level at set and leaves it only at clear', () => {
    expect(wantedLevel(bd, 'above', 0, 139)).toBe(0)
    expect(wantedLevel(bd, 'above', 0, 140)).toBe(1)
    expect(wantedLevel(bd, 'above', 1, 137)).toBe(1)
    expect(wantedLevel(bd, 'above', 1, 135)).toBe(0)
    expect(wantedLevel(bd, 'above', 0, 162)).toBe(3)
    expect(wantedLevel(bd, 'above', 3, 157)).toBe(3)
    expect(wantedLevel(bd, 'above', 3, 152)).toBe(2)
    expect(wantedLevel([{ set: 11.8, clear: 12.2 }], 'below', 0, 11.7)).toBe(1)
    expect(wantedLevel([{ set: 11.8, clear: 12.2 }], 'below', 1, 12.0)).toBe(1)
  })
})

describe('stepHold', () => {
  const run = (values: [number, number][], raise = 300_000, clear = 900_000) => {
    let s: HoldState = initialHold()
    const changes: [number, number, number][] = []
    for (const [at, v] of values) {
      const r = stepHold(s, wantedLevel(bd, 'above', s.level, v), at, raise, clear)
      s = r.state
      if (r.changed) changes.push([at, r.changed.from, r.changed.to])
    }
    return { s, changes }
  }
  const min = 60_000

  it('raises only after the raise hold, and a gauge hovering at the line raises once', () => {
    const hovering = [138, 141, 141, 139, 142, 141, 139, 138, 141, 137, 136, 139, 140, 138].map((v, i) => [i * 5 * min, v] as [number, number])
    expect(run(hovering).changes).toEqual([[10 * min, 0, 1]])
  })

  it('escalates I → II → III and de-escalates after the clear hold', () => {
    const { changes } = run([
      [0, 141],
      [5 * min, 142],
      [10 * min, 151],
      [15 * min, 152],
      [20 * min, 161],
      [25 * min, 163],
      [30 * min, 150],
      [40 * min, 150],
      [45 * min, 149],
      [60 * min, 130],
      [80 * min, 130],
    ])
    expect(changes).toEqual([
      [5 * min, 0, 1],
      [15 * min, 1, 2],
      [25 * min, 2, 3],
      [45 * min, 3, 2],
      [80 * min, 2, 0],
    ])
  })

  it('holds each level from its own crossing: a river rising through I, II, III escalates 5 min after each', () => {
    // Under the old single pending clock, I's clock carried II and III: 5 minutes after the first crossing the
    // machine jumped straight to whatever was wanted then (here 0 → III at 5 min), so no step was shown; and any
    // dip of the wanted level towards the level in force restarted it. Per level (ISA-18.2 on-delay), I holds from
    // 0, II from 2, III from 4 minutes.
    const { changes } = run([
      [0, 141],
      [1 * min, 145],
      [2 * min, 151],
      [3 * min, 155],
      [4 * min, 161],
      [5 * min, 162],
      [6 * min, 163],
      [7 * min, 164],
      [9 * min, 165],
      [11 * min, 165],
    ])
    expect(changes).toEqual([
      [5 * min, 0, 1],
      [7 * min, 1, 2],
      [9 * min, 2, 3],
    ])
  })

  it("restarts a level's clock when the value falls back below its set before the hold is met", () => {
    const { changes } = run([
      [0, 151],
      [3 * min, 151],
      [4 * min, 147],
      [5 * min, 151],
      [9 * min, 151],
      [10 * min, 151],
    ])
    // I has been wanted since 0 without a break; II was broken at 4 min and holds again from 5.
    expect(changes).toEqual([
      [5 * min, 0, 1],
      [10 * min, 1, 2],
    ])
  })

  it('clears each level after its own clear hold', () => {
    const { changes } = run([
      [0, 165],
      [5 * min, 165],
      [10 * min, 152],
      [12 * min, 130],
      [25 * min, 130],
      [27 * min, 130],
    ])
    // III wanted no more from 10 min (cleared at 25), II and I from 12 (cleared at 27).
    expect(changes).toEqual([
      [5 * min, 0, 3],
      [25 * min, 3, 2],
      [27 * min, 2, 0],
    ])
  })

  it('reads a hold record written before per-level clocks (no `since`) with its one pending clock', () => {
    const old: HoldState = { level: 1, pendingLevel: 3, pendingSince: 0, lastAt: 2 * min }
    expect(stepHold(old, 3, 4 * min, 5 * min, 15 * min).changed).toBeNull()
    expect(stepHold(old, 3, 5 * min, 5 * min, 15 * min)).toMatchObject({ changed: { from: 1, to: 3 }, state: { level: 3, pendingLevel: null } })
    const clearing: HoldState = { level: 2, pendingLevel: 0, pendingSince: 0, lastAt: min }
    expect(stepHold(clearing, 0, 15 * min, 5 * min, 15 * min).changed).toEqual({ from: 2, to: 0 })
    expect(stepHold(initialHold(), 0, min, 1, 1)).toMatchObject({ changed: null, state: { level: 0, pendingLevel: null, pendingSince: null } })
  })

  it('ignores out-of-order evaluations', () => {
    const { changes } = run([
      [10 * min, 170],
      [20 * min, 170],
      [1 * min, 100],
    ])
    expect(changes).toEqual([[20 * min, 0, 3]])
  })
})
