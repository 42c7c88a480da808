import { describe, expect, it } from 'vitest'
import { labelPoint } from './label-point.ts'

type Ring = [number, number][]

describe('where an overlay feature is labelled', () => {
  it('puts a U-shaped ward’s label inside it, not in the bay between its arms', () => {
    // a U open to the north: its centroid (x 1.5) falls in the bay between x 1 and x 2
    const u: Ring = [
      [0, 0],
      [3, 0],
      [3, 3],
      [2, 3],
      [2, 1],
      [1, 1],
      [1, 3],
      [0, 3],
      [0, 0],
    ]
    const [x, y] = labelPoint({ type: 'Polygon', coordinates: [u] })!
    expect(x < 1 || x > 2 || y < 1).toBe(true)
    expect(x).toBeGreaterThan(0)
    expect(x).toBeLessThan(3)
  })

  it('labels a square at its centre, a line at its middle by length, a multipolygon on its largest part', () => {
    const square: Ring = [
      [0, 0],
      [2, 0],
      [2, 2],
      [0, 2],
      [0, 0],
    ]
    expect(labelPoint({ type: 'Polygon', coordinates: [square] })).toEqual([1, 1])
    expect(
      labelPoint({
        type: 'LineString',
        coordinates: [
          [0, 0],
          [1, 0],
          [1, 3],
        ],
      }),
    ).toEqual([1, 1])
    const small: Ring = square.map(([a, b]) => [a / 10 + 5, b / 10 + 5])
    expect(labelPoint({ type: 'MultiPolygon', coordinates: [[small], [square]] })).toEqual([1, 1])
  })
})
