import { describe, expect, it } from 'vitest'
import type { Incident } from '../schema.ts'
import { formatHash, parseHash } from '../deeplink.ts'
import { allFilters } from '../filters.ts'
import { incidentAt, LevelTexts, shownAt } from './incident-at.ts'
import { resolutionFor, windowFor } from './player.ts'

const M = 60_000
const t0 = 1_780_000_000_000
const BD1 = { vi: 'Ngập do triều cường / lũ: Báo động I', en: 'Flood (high water): Alarm level I' }
const BD3 = { vi: 'Ngập do triều cường / lũ: Báo động III', en: 'Flood (high water): Alarm level III' }

/** A flood incident as the replay API sends it at the end of a window: raised at BĐ I, escalated to BĐ III, cleared. */
const tide: Incident = {
  id: 'inc-1',
  ruleId: 'flood',
  subject: 'wl-my-phong-riverside',
  subjectType: 'device',
  deviceIds: ['wl-my-phong-riverside'],
  kind: 'water_level',
  level: 0,
  peakLevel: 3,
  severity: 'critical',
  title: BD3,
  state: 'cleared',
  metric: 'waterLevelCm',
  lastValue: 110,
  peakValue: 165,
  ward: 'my-phong',
  action: null,
  raisedAt: t0,
  updatedAt: t0 + 30 * M,
  acknowledgedAt: null,
  acknowledgedBy: null,
  ackNote: null,
  clearedAt: t0 + 30 * M,
  closedAt: null,
  events: [
    { at: t0, type: 'raised', level: 1, value: 145 },
    { at: t0 + 8 * M, type: 'escalated', level: 3, value: 165 },
    { at: t0 + 30 * M, type: 'cleared', level: 0, value: 110 },
  ],
}

describe('an incident as it stood at the replay cursor', () => {
  it('is absent before it was raised, a warning at BĐ I when that level was seen, critical once escalated, off the list once cleared', () => {
    const texts = new LevelTexts()
    // the state at the start of the replay showed it at BĐ I
    texts.learn([{ ...tide, level: 1, severity: 'warning', title: BD1, state: 'open', clearedAt: null, events: tide.events.slice(0, 1) }])
    expect(incidentAt(tide, t0 - 1, texts)).toBeUndefined()
    const raised = incidentAt(tide, t0 + M, texts)!
    expect([raised.level, raised.severity, raised.title, raised.state, shownAt(raised)]).toEqual([1, 'warning', BD1, 'open', true])
    expect(raised.clearedAt).toBeNull()
    const escalated = incidentAt(tide, t0 + 9 * M, texts)!
    expect([escalated.level, escalated.severity, escalated.lastValue, escalated.state]).toEqual([3, 'critical', 165, 'open'])
    const cleared = incidentAt(tide, t0 + 31 * M, texts)!
    expect([cleared.state, shownAt(cleared)]).toEqual(['cleared', false])
  })

  it('keeps its own severity and title for a level never seen, and its acknowledgement only from when it was given', () => {
    const acked: Incident = {
      ...tide,
      events: [
        ...tide.events.slice(0, 1),
        { at: t0 + 2 * M, type: 'acknowledged', level: 1, value: null, by: 'operator1', note: 'đã báo phường' },
        ...tide.events.slice(1),
      ],
    }
    const texts = new LevelTexts()
    const before = incidentAt(acked, t0 + M, texts)!
    expect([before.severity, before.title, before.acknowledgedBy]).toEqual(['critical', BD3, null])
    const after = incidentAt(acked, t0 + 3 * M, texts)!
    expect([after.state, after.acknowledgedBy, after.ackNote]).toEqual(['acknowledged', 'operator1', 'đã báo phường'])
  })
})

describe('replay in the URL hash and the windows asked', () => {
  it('round-trips the instant, window and speed beside the view, and ignores a malformed one', () => {
    const replay = { at: t0 + 5 * M, from: t0, to: t0 + 60 * M, speed: 600 }
    const h = formatHash({ lat: 10.353, lng: 106.378 }, 15, 'wl-my-phong-riverside', allFilters(), replay)
    const back = parseHash(h)
    expect(back.replay).toEqual(replay)
    expect([back.lat, back.lon, back.zoom, back.selected]).toEqual([10.353, 106.378, 15, 'wl-my-phong-riverside'])
    expect(parseHash('#lat=10.3&lon=106.3&z=14').replay).toBeUndefined()
    expect(parseHash(`#r=${t0}&rf=${t0 + M}&rt=${t0}`).replay).toBeUndefined()
    // an instant outside its window is brought inside it
    expect(parseHash(`#r=${t0 - M}&rf=${t0}&rt=${t0 + M}&rx=10`).replay).toEqual({ at: t0, from: t0, to: t0 + M, speed: 10 })
  })

  it('asks raw readings up to 600× (a few seconds of playing each) and 5-minute means above, never more than 24 h at once', () => {
    expect([1, 10, 60, 600, 3600].map(resolutionFor)).toEqual(['raw', 'raw', 'raw', 'raw', '5m'])
    expect(windowFor(1)).toBe(15 * M)
    expect(windowFor(600)).toBe(30 * M)
    expect(windowFor(3600)).toBe(365 * M)
  })
})
