import { describe, expect, it } from 'vitest'
import { createLimiter } from './limiter.ts'

describe('limiter', () => {
  it('runs at most n tasks at once, in arrival order, and survives failing tasks', async () => {
    const gate = createLimiter(3)
    let running = 0
    let peak = 0
    const order: number[] = []
    const releases: Array<() => void> = []
    const tasks = Array.from({ length: 10 }, (_, i) =>
      gate.run(async () => {
        order.push(i)
        running++
        peak = Math.max(peak, running)
        await new Promise<void>((r) => releases.push(r))
        running--
        if (i === 4) throw new Error('task 4 fails')
        return i
      }),
    )
    const settled = Promise.allSettled(tasks)
    while (order.length < 10 || releases.length > 0) {
      await new Promise((r) => setImmediate(r))
      releases.shift()?.()
    }
    const results = await settled
    expect(peak).toBe(3)
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
    expect(gate.active).toBe(0)
  })
})
