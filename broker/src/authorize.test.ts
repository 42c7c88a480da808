import { describe, expect, it } from 'vitest'
import { canPublish, canSubscribe } from './authorize.ts'
import type { Principal } from './principal.ts'

const device: Principal = { kind: 'device', deviceId: 'wl-tien-river' }
const ingest: Principal = { kind: 'service', name: 'svc-ingest' }
const api: Principal = { kind: 'service', name: 'svc-api' }
const anonymous: Principal = { kind: 'anonymous' }
const root = 'mytho/v1/devices'

describe('topic rules', () => {
  it('lets a device publish only its own readings and status', () => {
    const verdicts = Object.fromEntries(
      [
        `${root}/wl-tien-river/readings`,
        `${root}/wl-tien-river/status`,
        `${root}/wl-tien-river/commands`,
        `${root}/wl-other/readings`,
        `${root}/wl-tien-river/readings/x`,
        'mytho/v1/alerts',
        '$SYS/x',
      ].map((t) => [t, canPublish(device, t)]),
    )
    expect(verdicts).toEqual({
      [`${root}/wl-tien-river/readings`]: true,
      [`${root}/wl-tien-river/status`]: true,
      [`${root}/wl-tien-river/commands`]: false,
      [`${root}/wl-other/readings`]: false,
      [`${root}/wl-tien-river/readings/x`]: false,
      'mytho/v1/alerts': false,
      '$SYS/x': false,
    })
  })

  it('lets a device subscribe only to its own commands, without wildcards', () => {
    expect(canSubscribe(device, `${root}/wl-tien-river/commands`)).toBe(true)
    for (const f of [`${root}/+/commands`, `${root}/wl-tien-river/#`, `${root}/wl-other/commands`, '#']) expect(canSubscribe(device, f), f).toBe(false)
  })

  it('lets svc-ingest read readings and status (all or one device) and publish commands only', () => {
    for (const f of [`${root}/+/readings`, `${root}/+/status`, `${root}/wl-tien-river/readings`]) expect(canSubscribe(ingest, f), f).toBe(true)
    for (const f of [`${root}/+/commands`, `${root}/#`, `${root}/+/+`, 'mytho/v1/#', '#', `${root}/BAD ID/readings`])
      expect(canSubscribe(ingest, f), f).toBe(false)
    expect(canPublish(ingest, `${root}/wl-tien-river/commands`)).toBe(true)
    expect(canPublish(ingest, `${root}/wl-tien-river/readings`)).toBe(false)
  })

  it('lets svc-ingest publish the three platform topics it writes, and nothing else under mytho/v1/platform/', () => {
    for (const t of ['mytho/v1/platform/readings', 'mytho/v1/platform/incidents', 'mytho/v1/platform/health']) expect(canPublish(ingest, t), t).toBe(true)
    for (const t of ['mytho/v1/platform/registry', 'mytho/v1/platform/other', 'mytho/v1/platform/readings/x', 'mytho/v1/platform'])
      expect(canPublish(ingest, t), t).toBe(false)
  })

  it('lets svc-api read anything under mytho/v1/ and publish commands', () => {
    for (const f of ['mytho/v1/#', `${root}/+/status`, 'mytho/v1/alerts']) expect(canSubscribe(api, f), f).toBe(true)
    for (const f of ['mytho/#', '#', '+/v1/#', 'mytho/v1']) expect(canSubscribe(api, f), f).toBe(false)
    expect(canPublish(api, `${root}/wl-tien-river/commands`)).toBe(true)
    expect(canPublish(api, `${root}/wl-tien-river/status`)).toBe(false)
  })

  it('lets anonymous clients do anything but publish under $SYS/', () => {
    expect(canPublish(anonymous, 'TopicA/B')).toBe(true)
    expect(canPublish(anonymous, '$SYS/broker/x')).toBe(false)
    expect(canSubscribe(anonymous, '#')).toBe(true)
  })
})
