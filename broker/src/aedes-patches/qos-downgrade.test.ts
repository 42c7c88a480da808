import { describe, expect, it } from 'vitest'
import { topicMatches } from './qos-downgrade.ts'

describe('topicMatches', () => {
  it('follows MQTT filter rules', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b', 'a/b', true],
      ['a/+', 'a/b', true],
      ['a/+', 'a/b/c', false],
      ['a/+', 'a', false],
      ['a/+', 'a/', true],
      ['a/#', 'a', true], // [MQTT-4.7.1-2] # also matches the parent
      ['a/#', 'a/b/c', true],
      ['#', 'a/b', true],
      ['+/+', '/a', true],
      ['#', '$SYS/x', false], // [MQTT-4.7.2-1]
      ['+/x', '$SYS/x', false],
      ['$SYS/#', '$SYS/x', true],
    ]
    expect(cases.map(([f, t]) => topicMatches(f, t))).toEqual(cases.map(([, , want]) => want))
  })
})
