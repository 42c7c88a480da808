import { describe, expect, it } from 'vitest'
import { REDRIVE_ANSWER_TOPIC, REDRIVE_ORDER_TOPIC } from '@mytho/schema'
import { canPublish, canSubscribe } from './authorize.ts'
import type { Principal } from './principal.ts'

const device: Principal = { kind: 'device', deviceId: 'wl-tien-river' }
const ingest: Principal = { kind: 'service', name: 'svc-ingest' }
const api: Principal = { kind: 'service', name: 'svc-api' }

// A re-drive order makes the ingest write storage: only the API may give one, only the ingest may answer it.
describe('re-drive topic rules', () => {
  it('lets only svc-api publish an order and only svc-ingest answer', () => {
    expect([device, ingest, api].map((p) => canPublish(p, REDRIVE_ORDER_TOPIC))).toEqual([false, false, true])
    expect([device, ingest, api].map((p) => canPublish(p, REDRIVE_ANSWER_TOPIC))).toEqual([false, true, false])
  })

  it('lets svc-ingest read orders (and no other platform topic) and svc-api read answers; a device neither', () => {
    expect(canSubscribe(ingest, REDRIVE_ORDER_TOPIC)).toBe(true)
    for (const f of [REDRIVE_ANSWER_TOPIC, 'mytho/v1/platform/redrive/#', 'mytho/v1/platform/#']) expect(canSubscribe(ingest, f), f).toBe(false)
    expect(canSubscribe(api, REDRIVE_ANSWER_TOPIC)).toBe(true)
    for (const f of [REDRIVE_ORDER_TOPIC, REDRIVE_ANSWER_TOPIC]) expect(canSubscribe(device, f), f).toBe(false)
  })
})
