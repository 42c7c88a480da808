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

  it('ignores out-of-order evaluations', () => {
    const { changes } = run([
      [10 * min, 170],
      [20 * min, 170],
      [1 * min, 100],
    ])
    expect(changes).toEqual([[20 * min, 0, 3]])
  })
})
